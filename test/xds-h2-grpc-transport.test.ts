// The gRPC transport on node:http2 (control/xds/h2-grpc-server.ts) against a real @grpc/grpc-js client and raw
// node:http2 on 127.0.0.1: framing across chunk boundaries, 1-byte chunks, unknown methods, compressed messages,
// cancellation, write backpressure, trailers and shutdown with calls open.
import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { framedBuffer, GrpcStatus, H2GrpcServer, type ServerCall } from "../control/xds/h2-grpc-server.js";

const ECHO = "/test.Echo/Chat";
const identity = (b: Buffer) => b;
const EchoClient = grpc.makeGenericClientConstructor(
  {
    Chat: { path: ECHO, requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
    Missing: { path: "/test.Echo/Missing", requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  },
  "Echo",
);

type Client = InstanceType<typeof EchoClient> & Record<string, (...a: unknown[]) => grpc.ClientDuplexStream<Buffer, Buffer>>;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An echo server: every message comes back (in turn as a framed buffer, a plain one, and parts written under one cork). */
async function echoServer(onCall: (call: ServerCall) => void = () => {}) {
  const server = new H2GrpcServer();
  const calls: ServerCall[] = [];
  let n = 0;
  server.handle(ECHO, (call) => {
    calls.push(call);
    call.onMessage = (bytes) => {
      const turn = n++ % 3;
      if (turn === 0) {
        const out = framedBuffer(bytes.length);
        out.set(bytes);
        call.send(out);
      } else if (turn === 1) call.send(Uint8Array.from(bytes));
      else {
        // Parts as the xDS server writes shared resource bytes: views of one buffer, an empty one among them.
        const copy = Buffer.from(bytes);
        const third = Math.floor(copy.length / 3);
        call.send([copy.subarray(0, third), copy.subarray(third, third), copy.subarray(third, 2 * third), copy.subarray(2 * third)]);
      }
    };
    call.onHalfClose = () => call.finish(GrpcStatus.OK);
    onCall(call);
  });
  const { port } = await server.listen("127.0.0.1", 0);
  cleanups.push(() => server.close(0));
  return { server, port, calls };
}

function grpcClient(port: number): Client {
  const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as Client;
  cleanups.push(() => client.close());
  return client;
}

function statusOf(call: grpc.ClientDuplexStream<Buffer, Buffer>, timeoutMs = 3000): Promise<grpc.StatusObject> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no status within timeout")), timeoutMs);
    call.on("error", () => {});
    call.on("status", (s: grpc.StatusObject) => {
      clearTimeout(t);
      resolve(s);
    });
  });
}

function bytes(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function frame(payload: Buffer, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** A raw HTTP/2 gRPC request: returns the stream plus its response headers, data and trailers as they come. */
function rawCall(port: number, path: string, headers: http2.OutgoingHttpHeaders = {}) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  cleanups.push(() => session.destroy());
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
  stream.on("error", () => {});
  const result = {
    session,
    stream,
    headers: new Promise<http2.IncomingHttpHeaders>((r) => stream.once("response", r)),
    trailers: new Promise<http2.IncomingHttpHeaders>((resolve) => {
      stream.once("trailers", resolve);
      stream.once("response", (h) => {
        if (h["grpc-status"] !== undefined) resolve(h); // trailers-only
      });
    }),
    data: [] as Buffer[],
  };
  stream.on("data", (c: Buffer) => result.data.push(c));
  return result;
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))]);

describe("H2GrpcServer", () => {
  it("echoes messages of many sizes to a grpc-js client, across DATA chunk boundaries", async () => {
    const { port } = await echoServer();
    const call = grpcClient(port).Chat!() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const sizes = [0, 1, 4, 5, 100, 16_379, 16_384, 16_385, 65_536, 200_003, 3 * 2 ** 20 + 7];
    const received: Buffer[] = [];
    const all = new Promise<void>((resolve) =>
      call.on("data", (b: Buffer) => {
        received.push(b);
        if (received.length === sizes.length) resolve();
      }),
    );
    const status = statusOf(call, 10_000);
    sizes.forEach((s, i) => call.write(bytes(s, i)));
    await within(all, 10_000, "echoes");
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(received.map((b) => b.length)).toEqual(sizes);
    received.forEach((b, i) => expect(b.equals(bytes(sizes[i]!, i))).toBe(true));
  });

  it("reassembles a message sent in 1-byte DATA chunks, and several messages in one chunk", async () => {
    const { port } = await echoServer();
    const raw = rawCall(port, ECHO);
    const message = bytes(300, 7);
    for (const b of frame(message)) {
      raw.stream.write(Buffer.of(b));
      await new Promise((r) => setImmediate(r)); // separate DATA frames
    }
    const two = Buffer.concat([frame(bytes(10, 1)), frame(bytes(0, 0)), frame(bytes(20, 2))]);
    raw.stream.end(two);
    const trailers = await within(raw.trailers, 3000, "trailers");
    expect(trailers["grpc-status"]).toBe("0");
    expect((await raw.headers)[":status"]).toBe(200);
    const body = Buffer.concat(raw.data);
    expect(body.equals(Buffer.concat([frame(message), two]))).toBe(true);
  });

  it("answers an unknown method with UNIMPLEMENTED (grpc-status 12)", async () => {
    const { port } = await echoServer();
    const call = grpcClient(port).Missing!() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const status = await statusOf(call);
    expect(status.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(status.details).toContain("/test.Echo/Missing");
  });

  it("refuses a compressed message with UNIMPLEMENTED, and non-gRPC requests with an HTTP error", async () => {
    const { port, calls } = await echoServer();
    const raw = rawCall(port, ECHO);
    raw.stream.end(frame(bytes(10, 0), 1));
    const trailers = await within(raw.trailers, 3000, "trailers");
    expect(trailers["grpc-status"]).toBe(String(GrpcStatus.UNIMPLEMENTED));
    expect(decodeURIComponent(String(trailers["grpc-message"]))).toContain("compressed");
    await within(new Promise((r) => (raw.stream.closed ? r(0) : raw.stream.once("close", r))), 3000, "stream closed");

    const encoded = rawCall(port, ECHO, { "grpc-encoding": "gzip" });
    encoded.stream.end();
    expect((await within(encoded.trailers, 3000, "trailers"))["grpc-status"]).toBe(String(GrpcStatus.UNIMPLEMENTED));

    const json = rawCall(port, ECHO, { "content-type": "application/json" });
    json.stream.end("{}");
    expect((await within(json.headers, 3000, "headers"))[":status"]).toBe(415);
    expect(calls.length).toBe(1); // only the first reached the handler
  });

  it("percent-encodes grpc-message in trailers", async () => {
    const server = new H2GrpcServer();
    server.handle(ECHO, (call) => {
      call.onMessage = () => {
        call.send(Buffer.from("x"));
        call.finish(GrpcStatus.INVALID_ARGUMENT, "bad 100% naïve\nline");
      };
    });
    const { port } = await server.listen("127.0.0.1", 0);
    cleanups.push(() => server.close(0));
    const call = grpcClient(port).Chat!() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const status = statusOf(call);
    call.on("data", () => {});
    call.write(Buffer.from("go"));
    const s = await status;
    expect(s.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(s.details).toBe("bad 100% naïve\nline");
  });

  it("cleans up a call the client cancels, and one whose connection is reset", async () => {
    const closed: string[] = [];
    const { server, port } = await echoServer((call) => {
      const before = call.onClose;
      call.onClose = () => {
        closed.push(call.path);
        before();
      };
    });
    const call = grpcClient(port).Chat!() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const status = statusOf(call);
    const echoed = new Promise((r) => call.once("data", r));
    call.write(Buffer.from("hi"));
    await within(echoed, 3000, "echo");
    expect(server.callCount).toBe(1);
    call.cancel();
    expect((await status).code).toBe(grpc.status.CANCELLED);
    await within(waitUntil(() => closed.length === 1), 3000, "server saw the cancel");
    expect(server.callCount).toBe(0);

    const raw = rawCall(port, ECHO);
    raw.stream.write(frame(bytes(3, 3)));
    await within(waitUntil(() => server.callCount === 1), 3000, "raw call open");
    raw.session.destroy();
    await within(waitUntil(() => closed.length === 2 && server.callCount === 0), 3000, "server saw the reset");
  });

  it("completes a write only when the client's flow-control window lets it go", async () => {
    const done: number[] = [];
    let serverCall: ServerCall | undefined;
    const server = new H2GrpcServer();
    server.handle(ECHO, (call) => {
      serverCall = call;
      call.onMessage = () => call.send(framedBuffer(4 * 2 ** 20).fill(1), () => done.push(Date.now()));
    });
    const { port } = await server.listen("127.0.0.1", 0);
    cleanups.push(() => server.close(0));
    const raw = rawCall(port, ECHO);
    raw.stream.pause(); // read nothing: the client's 64 KiB windows fill up
    raw.stream.removeAllListeners("data");
    raw.stream.write(frame(Buffer.from("go")));
    await within(waitUntil(() => serverCall !== undefined), 3000, "call");
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toEqual([]);
    let got = 0;
    raw.stream.on("data", (c: Buffer) => (got += c.length));
    raw.stream.resume();
    await within(waitUntil(() => done.length === 1), 5000, "write completed after the client read");
    expect(got).toBeGreaterThan(0);
  });

  it("closes with calls open: clients get OK, and a client that reads nothing is cut off after the grace time", async () => {
    const { server, port } = await echoServer();
    const call = grpcClient(port).Chat!() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const status = statusOf(call);
    const echoed = new Promise((r) => call.once("data", r));
    call.write(Buffer.from("hi"));
    await within(echoed, 3000, "echo");
    // A raw client with a big response stuck behind its unread window.
    const stuck = rawCall(port, ECHO);
    stuck.stream.pause();
    stuck.stream.removeAllListeners("data");
    const stuckClosed = new Promise((r) => stuck.session.once("close", r));
    stuck.stream.write(frame(bytes(3 * 2 ** 20, 9)));
    await within(waitUntil(() => server.callCount === 2), 3000, "both calls open");
    const started = Date.now();
    await within(server.close(300), 3000, "close");
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await status).code).toBe(grpc.status.OK);
    await within(stuckClosed, 3000, "stuck session closed");
    expect(server.callCount).toBe(0);
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error("condition not met in 5 s");
}
