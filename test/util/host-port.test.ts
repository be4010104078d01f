import { describe, expect, it } from "vitest";
import { parseListenAddress } from "../../src/cli/usage.js";
import { joinHostPort, listenAddress, splitHostPort } from "../../src/util/host-port.js";

describe("host:port", () => {
  it.each([
    ["127.0.0.1:8081", { host: "127.0.0.1", port: 8081 }],
    ["[::1]:80", { host: "::1", port: 80 }],
    [":9000", { host: "d", port: 9000 }],
    ["8081", { host: "d", port: 8081 }],
    [" 0.0.0.0:0 ", { host: "0.0.0.0", port: 0 }],
  ])("reads %j", (text, expected) => {
    expect(splitHostPort(text, "d")).toEqual(expected);
  });

  it("writes host:port back, an IPv6 host in brackets, so that it reads again", () => {
    expect(joinHostPort("127.0.0.1", 8081)).toBe("127.0.0.1:8081");
    expect(joinHostPort("::1", 80)).toBe("[::1]:80");
    expect(splitHostPort(joinHostPort("::1", 80), "d")).toEqual({ host: "::1", port: 80 });
  });

  it.each(["", "host", "host:", "1.2.3.4:65536", "a:b:1", "[::1]"])("refuses %j", (text) => {
    expect(splitHostPort(text, "d")).toBeUndefined();
  });

  it("takes a bare --listen port as a port on loopback, not as a host and a one-digit port", () => {
    expect(parseListenAddress("8081")).toEqual({ host: "127.0.0.1", port: 8081 });
    expect(() => parseListenAddress("nope")).toThrow(
      '--listen "nope" is not host:port: write for example 127.0.0.1:8081 or 0.0.0.0:8081',
    );
  });

  it("says what a listen address looks like", () => {
    expect(listenAddress(":7000", 8080)).toEqual({ host: "0.0.0.0", port: 7000 });
    expect(() => listenAddress("x", 8080)).toThrow(
      '"x" is not host:port: write for example 127.0.0.1:8080 or 0.0.0.0:8080',
    );
  });
});
