import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/contract/errors.js";
import { AllowedHosts, guardedConnector, isBlockedAddress } from "../../../src/runtime/files/ssrf.js";
import { fakeLookup, loopbackOnlyConnector } from "./servers.js";

describe("isBlockedAddress", () => {
  it.each<[string, boolean]>([
    // IPv4
    ["127.0.0.1", true],
    ["127.255.255.254", true],
    ["10.0.0.1", true],
    ["10.255.255.255", true],
    ["172.16.0.1", true],
    ["172.31.255.255", true],
    ["172.15.255.255", false],
    ["172.32.0.1", false],
    ["192.168.1.1", true],
    ["100.64.0.1", true],
    ["100.127.255.255", true],
    ["100.128.0.1", false],
    ["169.254.169.254", true],
    ["0.0.0.0", true],
    ["0.1.2.3", true],
    ["224.0.0.1", true],
    ["239.255.255.250", true],
    ["240.0.0.1", true],
    ["255.255.255.255", true],
    ["192.0.0.8", true],
    ["192.0.2.10", true],
    ["198.18.0.1", true],
    ["198.51.100.7", true],
    ["203.0.113.9", true],
    ["8.8.8.8", false],
    ["1.1.1.1", false],
    ["93.184.216.34", false],
    // IPv6
    ["::", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["fe80::1", true],
    ["fe80::1%eth0", true],
    ["febf:ffff::1", true],
    ["fc00::1", true],
    ["fd12:3456:789a::1", true],
    ["ff02::1", true],
    ["2001:db8::1", true],
    ["2001::1", true],
    ["100::1", true],
    ["2606:4700:4700::1111", false],
    ["2a00:1450:4001:81c::200e", false],
    // IPv6 forms carrying an IPv4 address
    ["::ffff:127.0.0.1", true],
    ["::ffff:7f00:1", true],
    ["::ffff:10.0.0.1", true],
    ["::ffff:169.254.169.254", true],
    ["::ffff:8.8.8.8", false],
    ["::127.0.0.1", true],
    ["64:ff9b::127.0.0.1", true],
    ["64:ff9b::a00:1", true],
    ["64:ff9b::8.8.8.8", false],
    ["64:ff9b:1::1", true],
    ["2002:7f00:1::1", true],
    ["2002:c0a8:101::1", true],
    ["2002:808:808::1", false],
    // not an address at all
    ["", true],
    ["localhost", true],
    ["127.1", true],
    ["999.1.1.1", true],
  ])("%s → %s", (address, blocked) => {
    expect(isBlockedAddress(address)).toBe(blocked);
  });
});

describe("AllowedHosts", () => {
  it("matches host, host:port and bracketed IPv6, case and trailing dot aside", () => {
    const allowed = new AllowedHosts(["Files.Test:8080", "127.0.0.1", "[::1]:9000", " "]);
    expect(allowed.allows("files.test", 8080)).toBe(true);
    expect(allowed.allows("FILES.test.", 8080)).toBe(true);
    expect(allowed.allows("files.test", 8081)).toBe(false);
    expect(allowed.allows("127.0.0.1", 1)).toBe(true);
    expect(allowed.allows("::1", 9000)).toBe(true);
    expect(allowed.allows("[::1]", 9000)).toBe(true);
    expect(allowed.allows("::1", 9001)).toBe(false);
    expect(new AllowedHosts([]).allows("127.0.0.1", 80)).toBe(false);
  });
});

describe("guardedConnector", () => {
  function connectOnce(
    hostname: string,
    allowHosts: string[],
    lookup: (host: string) => Promise<string[]>,
  ): Promise<{ error: Error | null; calls: string[] }> {
    const guard = loopbackOnlyConnector();
    const connector = guardedConnector(allowHosts, { lookup, connect: guard.connect });
    return new Promise((resolve) => {
      connector({ hostname, host: `${hostname}:1`, protocol: "http:", port: "1" }, (error, socket) => {
        socket?.destroy();
        resolve({ error, calls: guard.calls });
      });
    });
  }

  it("refuses a name when any of its addresses is blocked, before any socket", async () => {
    const lookup = fakeLookup({ "mixed.test": ["93.184.216.34", "10.0.0.1"] });
    const { error, calls } = await connectOnce("mixed.test", [], lookup);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error?.message).toBe(
      "input url blocked: mixed.test resolves to a private, loopback or link-local address",
    );
    expect(calls).toEqual([]);
  });

  it("refuses blocked IP literals without a lookup", async () => {
    const { error, calls } = await connectOnce("169.254.169.254", [], fakeLookup({}));
    expect(error).toBeInstanceOf(ValidationError);
    expect(calls).toEqual([]);
  });

  it("refuses a name with no address", async () => {
    const { error, calls } = await connectOnce("empty.test", [], fakeLookup({ "empty.test": [] }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(calls).toEqual([]);
  });

  it("connects an allow-listed name to the address it checked, not to the name", async () => {
    const lookup = fakeLookup({ "files.test": ["127.0.0.1"] });
    const { calls } = await connectOnce("files.test", ["files.test"], lookup);
    expect(calls).toEqual(["127.0.0.1:1"]);
  });
});
