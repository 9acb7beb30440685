import { describe, expect, it } from "vitest";
import {
  closedStatement,
  controlMessage,
  createFrameReader,
  createReplyReader,
  parsedStatement,
  withNamesPrefixed,
} from "../../../src/db/wireProtocol.ts";

/** A typed message: its type, then its length (itself included), then the body. */
const message = (type: string, ...body: (string | Buffer)[]) => {
  const bytes = Buffer.concat(body.map((b) => (typeof b === "string" ? Buffer.from(b, "latin1") : b)));
  const length = Buffer.alloc(4);
  length.writeInt32BE(bytes.length + 4);
  return Buffer.concat([Buffer.from(type), length, bytes]);
};
const untyped = (code: number, body = Buffer.alloc(0)) => {
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length);
  head.writeInt32BE(code, 4);
  return Buffer.concat([head, body]);
};

describe("the embedded server's wire protocol", () => {
  it("cuts a stream into messages across chunk borders, untyped ones first", () => {
    const reader = createFrameReader();
    const ssl = untyped(80877103);
    const startup = untyped(196608, Buffer.from("user\0postgres\0\0"));
    const query = message("Q", "SELECT 1\0");
    const stream = Buffer.concat([ssl, startup, query]);
    const frames = [stream.subarray(0, 5), stream.subarray(5, 30), stream.subarray(30)].flatMap((c) =>
      reader.push(c),
    );
    expect(frames.map((f) => [f.bytes, f.untyped])).toEqual([
      [ssl, true],
      [startup, true],
      [query, false],
    ]);
    expect(frames.map(controlMessage)).toEqual(["encryption", null, null]);
    expect(controlMessage({ bytes: untyped(80877102, Buffer.alloc(8)), untyped: true })).toBe("end");
    expect(controlMessage({ bytes: message("X"), untyped: false })).toBe("end");
  });

  it("prefixes every statement and portal name, and leaves unnamed ones alone", () => {
    const parse = withNamesPrefixed(message("P", "hp_insert\0", "SELECT $1\0", "\0\0"), "c7_");
    expect(parse).toEqual(message("P", "c7_hp_insert\0", "SELECT $1\0", "\0\0"));
    expect(parsedStatement(parse)).toBe("c7_hp_insert");
    const bind = withNamesPrefixed(message("B", "cur\0", "hp_insert\0", "\0\0\0\0\0\0"), "c7_");
    expect(bind).toEqual(message("B", "c7_cur\0", "c7_hp_insert\0", "\0\0\0\0\0\0"));
    expect(withNamesPrefixed(message("B", "\0", "hp_insert\0"), "c7_")).toEqual(
      message("B", "\0", "c7_hp_insert\0"),
    );
    const unnamed = message("P", "\0", "SELECT 1\0", "\0\0");
    expect(withNamesPrefixed(unnamed, "c7_")).toBe(unnamed);
    expect(parsedStatement(unnamed)).toBeNull();
    const close = withNamesPrefixed(message("C", "S", "hp_insert\0"), "c7_");
    expect(closedStatement(close)).toBe("c7_hp_insert");
    expect(withNamesPrefixed(message("E", "cur\0", "\0\0\0\0"), "c7_")).toEqual(
      message("E", "c7_cur\0", "\0\0\0\0"),
    );
  });

  it("reads ReadyForQuery's status only when it is the last message, across chunks", () => {
    const reader = createReplyReader();
    const reply = Buffer.concat([message("C", "SELECT 1\0"), message("Z", "T")]);
    reader.read(reply.subarray(0, 7));
    expect(reader.readyStatus()).toBeNull();
    reader.read(reply.subarray(7, reply.length - 1));
    expect(reader.readyStatus()).toBeNull();
    reader.read(reply.subarray(reply.length - 1));
    expect(reader.readyStatus()).toBe("T");
    reader.read(message("D", "\0\0"));
    expect(reader.readyStatus()).toBeNull();
    reader.read(message("Z", "I"));
    expect(reader.readyStatus()).toBe("I");
  });
});
