import { describe, expect, it } from "vitest";
import type { OutgoingMessage } from "../../../src/adapters/grpc/outbox.js";
import { UnconfirmedWrites } from "../../../src/adapters/grpc/unconfirmed-writes.js";

function message(i: number, size = 40): OutgoingMessage {
  const bytes = Buffer.alloc(size, i % 256);
  bytes.writeUInt32BE(i, 0);
  return i % 3 === 0 ? { bytes, delivery: "kept", resultOf: `run-${i}` } : { bytes, delivery: "kept" };
}

const ids = (messages: OutgoingMessage[]) => messages.map((m) => m.bytes.readUInt32BE(0));

describe("UnconfirmedWrites", () => {
  it("gives back every unconfirmed message, byte for byte and in order, across many pages", () => {
    const writes = new UnconfirmedWrites();
    const sent = Array.from({ length: 5000 }, (_, i) => message(i, 20 + (i % 300)));
    for (const [i, m] of sent.entries()) writes.written(writes.add(m), i);
    writes.confirmWrittenBefore(1234);
    const again = writes.takeAll();
    expect(again).toHaveLength(5000 - 1235);
    const concat = (messages: OutgoingMessage[]) => Buffer.concat(messages.map((m) => m.bytes));
    expect(concat(again).equals(concat(sent.slice(1235)))).toBe(true);
    expect(again.map((m) => m.resultOf)).toEqual(sent.slice(1235).map((m) => m.resultOf));
    expect(writes.size).toBe(0);
  });

  it("keeps a copy: the sender may reuse its buffer", () => {
    const writes = new UnconfirmedWrites();
    const m = message(7);
    writes.add(m);
    m.bytes.fill(0);
    expect(writes.takeAll()[0]?.bytes.readUInt32BE(0)).toBe(7);
  });

  it("never confirms past a write grpc-js has not taken yet", () => {
    const writes = new UnconfirmedWrites();
    const first = writes.add(message(1));
    writes.written(writes.add(message(2)), 5);
    writes.confirmWrittenBefore(100);
    expect(writes.size).toBe(2);
    expect(writes.allTaken).toBe(true);
    writes.written(first, 50);
    writes.confirm(70, 10);
    expect(writes.size).toBe(0);
    writes.add(message(3));
    expect(writes.allTaken).toBe(false);
  });

  it("names the runs whose results are still unconfirmed", () => {
    const writes = new UnconfirmedWrites();
    for (let i = 0; i < 1200; i++) writes.written(writes.add(message(i)), i);
    writes.confirmWrittenBefore(1193);
    expect(writes.results()).toEqual(["run-1194", "run-1197"]);
  });

  it("takes a message larger than a page", () => {
    const writes = new UnconfirmedWrites();
    writes.add(message(1));
    writes.add(message(2, 200_000));
    writes.add(message(3));
    expect(ids(writes.takeAll())).toEqual([1, 2, 3]);
  });
});
