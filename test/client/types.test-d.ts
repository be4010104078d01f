/**
 * The typed client's types, checked by the compiler (vitest --typecheck runs tsc on *.test-d.ts;
 * nothing here runs). A `@ts-expect-error` line fails the suite when its call compiles.
 */
import { describe, expectTypeOf, test } from "vitest";
import type * as hello from "../../examples/hello/src/main.js";
import {
  type AssetRef,
  type CanceledRunError,
  type ErrorType as ClientErrorType,
  createClient,
  type HandlerEndpoints,
  type RunError,
  type SingleEndpoint,
  type StreamEndpoint,
} from "../../src/client/index.js";
import type { ErrorType } from "../../src/contract/errors.js";
import type { Integer } from "../../src/index.js";
import type * as shapes from "./handlers.js";

const client = createClient<typeof hello>({ url: "http://127.0.0.1:8081" });

describe("a client for examples/hello", () => {
  test("run resolves with the handler's output type", () => {
    expectTypeOf(client.run("hello", { name: "world" })).resolves.toEqualTypeOf<hello.HelloOutput>();
    expectTypeOf(client.run("hello", { name: "world", times: 2 })).resolves.toEqualTypeOf<{
      greeting: string;
    }>();
    expectTypeOf(client.run("card", { name: "Ada" })).resolves.toEqualTypeOf<{ card: AssetRef }>();
  });

  test("stream iterates the handler's delta type", () => {
    expectTypeOf(client.stream("words", { text: "one two" })).toEqualTypeOf<
      AsyncIterable<{ delta: string }>
    >();
  });

  test("run takes only single-output endpoints, stream only streaming ones", () => {
    type Endpoints = HandlerEndpoints<typeof hello>;
    expectTypeOf<SingleEndpoint<Endpoints>>().toEqualTypeOf<"hello" | "card">();
    expectTypeOf<StreamEndpoint<Endpoints>>().toEqualTypeOf<"words">();
  });

  test("mistakes do not compile", () => {
    // @ts-expect-error: there is no endpoint "helo"
    void client.run("helo", { name: "world" });
    // @ts-expect-error: name is required
    void client.run("hello", {});
    // @ts-expect-error: name is a string
    void client.run("hello", { name: 42 });
    // @ts-expect-error: hello has no field "nam"
    void client.run("hello", { nam: "world" });
    // @ts-expect-error: hello gives a single result; stream is for streaming endpoints
    void client.stream("hello", { name: "world" });
    // @ts-expect-error: words streams; run is for single-output endpoints
    void client.run("words", { text: "one two" });
  });
});

describe("handler shapes", () => {
  type Endpoints = HandlerEndpoints<typeof shapes>;

  test("the endpoints are the handlers: not helpers, constants or enums", () => {
    expectTypeOf<keyof Endpoints>().toEqualTypeOf<"detect" | "label" | "listWords" | "count" | "letters">();
  });

  test("injected models are left out; files, enums and Integer are as JSON carries them", () => {
    expectTypeOf<Endpoints["detect"]>().toEqualTypeOf<{
      payload: { image: AssetRef; size?: "small" | "large"; count: Integer; model: string };
      result: { boxes: { x: number; y: number }[]; mask: AssetRef | null };
    }>();
  });

  test("an array or a string is a single output; generators and iterables stream", () => {
    expectTypeOf<Endpoints["label"]>().toEqualTypeOf<{ payload: { text: string }; result: string }>();
    expectTypeOf<Endpoints["listWords"]>().toEqualTypeOf<{ payload: { text: string }; result: string[] }>();
    expectTypeOf<Endpoints["count"]>().toEqualTypeOf<{ payload: { to: Integer }; delta: { n: number } }>();
    expectTypeOf<Endpoints["letters"]>().toEqualTypeOf<{ payload: { text: string }; delta: string }>();
  });

  test("a plain number is an Integer", () => {
    const shapesClient = createClient<typeof shapes>({ url: "http://127.0.0.1:8081" });
    expectTypeOf(shapesClient.stream("count", { to: 3 })).toEqualTypeOf<AsyncIterable<{ n: number }>>();
  });
});

describe("errors", () => {
  test("the client's error types are the contract's", () => {
    expectTypeOf<ClientErrorType>().toEqualTypeOf<ErrorType>();
    expectTypeOf<RunError["errorType"]>().toEqualTypeOf<ErrorType>();
    expectTypeOf<CanceledRunError["errorType"]>().toEqualTypeOf<"canceled">();
    expectTypeOf<RunError>().toHaveProperty("retryable").toEqualTypeOf<boolean>();
    expectTypeOf<RunError>().toHaveProperty("safeMessage").toEqualTypeOf<string>();
  });
});
