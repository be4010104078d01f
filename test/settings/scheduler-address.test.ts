import { describe, expect, it } from "vitest";
import {
  leaderFromDetails,
  parseSchedulerAddress,
  SchedulerAddressError,
  schedulerAddresses,
} from "../../src/settings/scheduler-address.js";

describe("parseSchedulerAddress", () => {
  it.each([
    ["grpcs://sched.example.com:8443", "sched.example.com:8443", true],
    ["https://sched.example.com:8443", "sched.example.com:8443", true],
    ["GRPCS://sched.example.com:8443", "sched.example.com:8443", true],
    ["grpc://sched.example.com:443", "sched.example.com:443", false],
    ["http://10.0.0.5:8080", "10.0.0.5:8080", false],
    ["sched.example.com:443", "sched.example.com:443", true],
    ["localhost:8080", "localhost:8080", false],
    ["  localhost:8080  ", "localhost:8080", false],
    ["[::1]:8080", "[::1]:8080", false],
    ["grpcs://[2001:db8::1]:443", "[2001:db8::1]:443", true],
    ["[::1]:443", "[::1]:443", true],
    ["https://sched.example.com:443/", "sched.example.com:443", true],
    ["scheduler:0080", "scheduler:80", false],
  ])("%s → %s (tls %s) with USE_TLS unset", (raw, target, tls) => {
    expect(parseSchedulerAddress(raw, undefined)).toEqual({ target, tls });
  });

  it.each([
    ["true", true],
    ["TRUE", true],
    ["1", true],
    ["t", true],
    [" T ", true],
    ["false", false],
    ["0", false],
    ["yes", false],
    ["on", false],
  ])("USE_TLS=%j overrides every form (→ %s)", (useTls, tls) => {
    for (const raw of ["grpcs://h:8443", "grpc://h:8443", "h:443", "h:8080"]) {
      expect(parseSchedulerAddress(raw, useTls).tls).toBe(tls);
    }
  });

  it("treats a blank USE_TLS as unset", () => {
    expect(parseSchedulerAddress("h:443", "").tls).toBe(true);
    expect(parseSchedulerAddress("h:8080", "  ").tls).toBe(false);
  });

  it.each([
    ["localhost", "has no port"],
    ["localhost:", "has no port"],
    ["grpc://localhost", "has no port"],
    ["[::1]", "has no port"],
    ["localhost:http", 'has the bad port "http"'],
    ["localhost:0", 'has the bad port "0"'],
    ["localhost:65536", 'has the bad port "65536"'],
    ["localhost:-1", 'has the bad port "-1"'],
    ["localhost:8080/scheduler", "has a path"],
    ["https://sched.example.com:443/v1/", "has a path"],
    ["localhost:8080?x=1", "has a path, query"],
    ["tcp://localhost:8080", 'unsupported scheme "tcp://"'],
    ["::1:8080", "IPv6 host without brackets"],
    [":8080", "has an empty host"],
    ["", "is empty"],
    ["user@host:8080", "user information"],
  ])("rejects %j (%s)", (raw, what) => {
    let caught: unknown;
    try {
      parseSchedulerAddress(raw, undefined);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SchedulerAddressError);
    const message = (caught as Error).message;
    expect(message).toContain(`SCHEDULER_ADDR value "${raw}"`);
    expect(message).toContain(what);
    expect(message).toContain("e.g.");
    expect((caught as SchedulerAddressError).problems).toHaveLength(1);
  });

  it("names the variable it is given", () => {
    expect(() => parseSchedulerAddress("nope", undefined, "SCHEDULER_ADDRS")).toThrow(
      /^SCHEDULER_ADDRS value "nope" has no port/,
    );
  });
});

describe("schedulerAddresses", () => {
  it("defaults to localhost:8080", () => {
    expect(schedulerAddresses(undefined, undefined, undefined)).toEqual([
      { target: "localhost:8080", tls: false },
    ]);
    expect(schedulerAddresses("  ", "", undefined)).toEqual([{ target: "localhost:8080", tls: false }]);
  });

  it("puts the primary first, then the seeds, trimmed, empties dropped, de-duplicated in order", () => {
    const addresses = schedulerAddresses(
      "grpc://a:8080",
      " b:443 , ,a:8080, grpcs://c:9000,b:443,, http://d:80 ",
      undefined,
    );
    expect(addresses).toEqual([
      { target: "a:8080", tls: false },
      { target: "b:443", tls: true },
      { target: "c:9000", tls: true },
      { target: "d:80", tls: false },
    ]);
  });

  it("keeps the first of two spellings of one target", () => {
    expect(schedulerAddresses("grpcs://a:8080", "a:8080", undefined)).toEqual([
      { target: "a:8080", tls: true },
    ]);
  });

  it("applies USE_TLS to every address", () => {
    expect(schedulerAddresses("a:8080", "grpcs://b:443", "false").map((a) => a.tls)).toEqual([false, false]);
    expect(schedulerAddresses("a:8080", "b:9000", "1").map((a) => a.tls)).toEqual([true, true]);
  });

  it("reports every malformed address at once", () => {
    let caught: unknown;
    try {
      schedulerAddresses("nope", "ok:1,bad/path:2,also-bad", undefined);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SchedulerAddressError);
    const problems = (caught as SchedulerAddressError).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^SCHEDULER_ADDR value "nope"/);
    expect(problems[1]).toMatch(/^SCHEDULER_ADDRS value "bad\/path:2"/);
    expect(problems[2]).toMatch(/^SCHEDULER_ADDRS value "also-bad"/);
  });
});

describe("leaderFromDetails", () => {
  it.each<[string | undefined, string | undefined]>([
    ["not_leader:127.0.0.1:8080", "127.0.0.1:8080"],
    ["not_leader:[::1]:9000", "[::1]:9000"],
    ["not_leader:grpc://leader:8080", "grpc://leader:8080"],
    ["not_leader:", undefined],
    ["not_leader:   ", undefined],
    ["leader:127.0.0.1:8080", undefined],
    ["NOT_LEADER:127.0.0.1:8080", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("%j → %j", (details, leader) => {
    expect(leaderFromDetails(details)).toBe(leader);
  });
});
