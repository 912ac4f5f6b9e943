// Streamed bodies through `halyard gateway -c` (a child process): real @grpc/grpc-js and node:http2 / node:http
// upstreams, real clients. The upstreams wait for the client to have received part k before they send part k+1
// (a gate shared in this process, bounded waits), so a gateway that buffered whole responses would never deliver
// anything. Also: a bidi-streaming echo, a 20 MiB response with the gateway's RSS growth bounded, a wasm filter with
// response body callbacks seeing every chunk (and StopIterationAndBuffer), upstream resets after the headers, and
// retries before them. Request bodies: a ping-pong bidi gRPC call, chunked HTTP/1.1 and HTTP/2 uploads the upstream
// sees piece by piece (the client waits on each piece, bounded), HTTP/2 request trailers, a 20 MiB upload to a
// stalled upstream with the gateway's RSS growth bounded, and retries of streamed bodies under / over 1 MiB.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, get as httpGet, request as httpRequest, type ClientRequest, type IncomingMessage, type Server } from "node:http";
import { connect as h2Connect, createServer as createH2cServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileAS } from "./helpers/as.js";
import { bootstrap, listener, staticCluster, wasmFilter } from "./helpers/envoy-bootstrap.js";
import { requireBuiltCli, tempDir, writeYaml } from "./helpers/gateway-process.js";
import { spawnGateway, type GatewayChild } from "./helpers/gateway-xds.js";
import { jsonMethod, serializeJson, type AnyGrpcClient } from "./helpers/json-grpc.js";

const ROUTES = ["abort=filters/abi/runtime/abortWithLog", "trace=filters/abi/runtime/traceToLog", "seed=filters/abi/runtime/seedFromHost"];
const WAIT_MS = 5000;

/** "The client has received part k of stream `id`": the upstream waits on it before sending part k+1. */
class Gates {
  private readonly seen = new Map<string, Set<number>>();
  private readonly waiters = new Map<string, () => void>();

  mark(id: string, k: number): void {
    let s = this.seen.get(id);
    if (!s) this.seen.set(id, (s = new Set()));
    s.add(k);
    this.waiters.get(`${id}#${k}`)?.();
  }

  wait(id: string, k: number): Promise<void> {
    if (this.seen.get(id)?.has(k)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const key = `${id}#${k}`;
      const t = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`the client never received part ${k} of ${id} (buffered?)`));
      }, WAIT_MS);
      this.waiters.set(key, () => {
        clearTimeout(t);
        this.waiters.delete(key);
        resolve();
      });
    });
  }
}
const gates = new Gates();

interface Msg {
  text: string;
  n?: number;
  id?: string;
}
const WATCH: grpc.ServiceDefinition = {
  Watch: jsonMethod("/test.Watch/Watch", { response: true }),
  Chat: jsonMethod("/test.Watch/Chat", { request: true, response: true }),
};
const WatchClient = grpc.makeGenericClientConstructor(WATCH, "Watch");
type AnyClient = AnyGrpcClient;

let grpcServer: grpc.Server;
let resetServer: Http2Server;
let trailerServer: Http2Server;
let web: Server;
let flakyAttempts = 0;
/** Attempts per upload id on /flaky-upload (the first one answers 503). */
const uploadAttempts = new Map<string, number>();
/** /sink holds its request unread until this is resolved. */
let releaseSink: () => void = () => {};
let sinkHeld: Promise<void> = Promise.resolve();
/** Request bytes /sink has read so far. */
let sinkRead = 0;
const PIECE = 16;
/** Bytes the /big upstream has handed to its socket so far. */
let bigWritten = 0;
let gw: GatewayChild;
let plainTarget: string;
let filteredTarget: string;

function startGrpc(): Promise<number> {
  grpcServer = new grpc.Server();
  grpcServer.addService(WATCH, {
    // Message k+1 is sent only once the client has received message k.
    Watch: async (call: grpc.ServerWritableStream<Msg, Msg>) => {
      const { id = "", n = 0 } = call.request;
      try {
        for (let k = 0; k < n; k++) {
          call.write({ text: `event ${k}` });
          await gates.wait(id, k);
        }
        const trailers = new grpc.Metadata();
        trailers.set("x-watch-end", String(n));
        call.end(trailers);
      } catch (e) {
        call.destroy(e as Error);
      }
    },
    Chat: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      call.on("data", (m: Msg) => call.write({ text: `echo ${m.text}` }));
      call.on("end", () => call.end());
    },
  });
  return new Promise((resolve, reject) =>
    grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

/** An HTTP/2 gRPC upstream that sends its headers and one message, then drops the connection (a crash). */
function startResetServer(): Promise<number> {
  resetServer = createH2cServer();
  resetServer.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    const msg = serializeJson({ text: "first" });
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    stream.write(frame);
    setTimeout(() => stream.session?.destroy(), 100);
  });
  return new Promise((resolve) => resetServer.listen(0, "127.0.0.1", () => resolve((resetServer.address() as AddressInfo).port)));
}

/** An HTTP/2 upstream that marks each request piece as it arrives and answers with the request trailers it got. */
function startTrailerServer(): Promise<number> {
  trailerServer = createH2cServer();
  trailerServer.on("stream", (stream, headers) => {
    const id = new URL(String(headers[":path"]), "http://x").searchParams.get("id") ?? "";
    let got = 0;
    let trailers = "";
    stream.on("error", () => {});
    stream.on("trailers", (t) => (trailers = String(t["x-client-end"] ?? "")));
    stream.on("data", (c: Buffer) => {
      const before = Math.floor(got / PIECE);
      got += c.length;
      for (let k = before; k < Math.floor(got / PIECE); k++) gates.mark(id, k);
    });
    stream.on("end", () => {
      stream.respond({ ":status": 200 });
      stream.end(`${got} bytes, trailer ${trailers || "none"}`);
    });
  });
  return new Promise((resolve) => trailerServer.listen(0, "127.0.0.1", () => resolve((trailerServer.address() as AddressInfo).port)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startWeb(): Promise<number> {
  web = createHttpServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const id = url.searchParams.get("id") ?? "";
    const n = Number(url.searchParams.get("n") ?? 3);
    try {
      if (url.pathname === "/events" || url.pathname === "/buffer") {
        // SSE-like: part k+1 only after the client saw part k (not for /buffer, which the filter holds back).
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (let k = 0; k < n; k++) {
          res.write(`data: ${k}\n\n`);
          if (url.pathname === "/events") await gates.wait(id, k);
          else await sleep(30);
        }
        res.end();
      } else if (url.pathname === "/big") {
        const size = Number(url.searchParams.get("mib") ?? 20) * 1024 * 1024;
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) });
        for (let sent = 0; sent < size; sent += chunk.length) {
          bigWritten += chunk.length;
          if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
        }
        res.end();
      } else if (url.pathname === "/reset") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("partial ");
        setTimeout(() => res.socket?.destroy(), 100);
      } else if (url.pathname === "/upload") {
        // Marks each fixed-size piece of the request body as it arrives, so the client can wait on it.
        let got = 0;
        req.on("data", (c: Buffer) => {
          const before = Math.floor(got / PIECE);
          got += c.length;
          for (let k = before; k < Math.floor(got / PIECE); k++) gates.mark(id, k);
        });
        req.on("end", () => res.end(`${got} ${req.headers["transfer-encoding"] ?? "-"}`));
      } else if (url.pathname === "/sink") {
        await sinkHeld;
        req.on("data", (c: Buffer) => (sinkRead += c.length));
        req.on("end", () => res.end(String(sinkRead)));
      } else if (url.pathname === "/flaky-upload") {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const attempt = (uploadAttempts.get(id) ?? 0) + 1;
        uploadAttempts.set(id, attempt);
        if (attempt === 1) {
          res.writeHead(503, { "content-length": "0" });
          res.end();
          return;
        }
        res.end(`attempt ${attempt}: ${Buffer.concat(chunks).length} bytes`);
      } else if (url.pathname === "/flaky") {
        if (flakyAttempts++ === 0) {
          res.writeHead(503, { "content-length": "0" });
          res.end();
          return;
        }
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("after ");
        await sleep(50);
        res.end("retry");
      } else {
        res.writeHead(404).end();
      }
    } catch {
      res.destroy();
    }
  });
  return new Promise((resolve) => web.listen(0, "127.0.0.1", () => resolve((web.address() as AddressInfo).port)));
}

beforeAll(async () => {
  requireBuiltCli();
  const dir = tempDir("halyard-stream-");
  const [grpcPort, resetPort, webPort, filter, trailerPort] = await Promise.all([
    startGrpc(),
    startResetServer(),
    startWeb(),
    compileAS("test/fixtures/as/body-chunks-filter.ts", ROUTES.flatMap((r) => ["--use", r])),
    startTrailerServer(),
  ]);
  writeFileSync(join(dir, "body-chunks.wasm"), filter);
  const virtualHosts = [
    {
      name: "all",
      domains: ["*"],
      routes: [
        { match: { prefix: "/test.Watch/" }, route: { cluster: "grpc", timeout: "0s" } },
        { match: { prefix: "/test.Reset/" }, route: { cluster: "grpc-reset" } },
        { match: { prefix: "/h2-upload" }, route: { cluster: "h2-echo", timeout: "0s" } },
        { match: { prefix: "/flaky-upload" }, route: { cluster: "web", timeout: "0s", retry_policy: { retry_on: "5xx", num_retries: 2 } } },
        { match: { prefix: "/flaky" }, route: { cluster: "web", retry_policy: { retry_on: "5xx", num_retries: 2 } } },
        { match: { prefix: "/" }, route: { cluster: "web", timeout: "0s" } },
      ],
    },
  ];
  const http2 = (name: string, port: number) => ({
    ...staticCluster(name, [port]),
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  });
  const plain = listener({ name: "plain", port: 0, virtualHosts });
  const filtered = listener({
    name: "filtered",
    port: 0,
    virtualHosts,
    httpFilters: [wasmFilter({ name: "body-chunks", rootId: "test.body_chunks", filename: join(dir, "body-chunks.wasm") })],
  });
  const file = writeYaml(dir, "stream.yaml", bootstrap([plain, filtered], [http2("grpc", grpcPort), http2("grpc-reset", resetPort), http2("h2-echo", trailerPort), staticCluster("web", [webPort])]));
  gw = spawnGateway(["-c", file]);
  plainTarget = (await gw.waitFor(/listener "plain" on http:\/\/(\S+)/, 20_000))[1]!;
  filteredTarget = (await gw.waitFor(/listener "filtered" on http:\/\/(\S+)/, 20_000))[1]!;
}, 120_000);

afterAll(async () => {
  if (process.env.STREAM_DEBUG) console.log(gw?.output());
  await gw?.stop();
  grpcServer?.forceShutdown();
  resetServer?.close();
  trailerServer?.close();
  web?.closeAllConnections();
  web?.close();
});

function client(target: string): AnyClient {
  return new WatchClient(target, grpc.credentials.createInsecure()) as unknown as AnyClient;
}

/** An HTTP/1.1 GET whose body chunks are reported as they arrive; resolves with the whole body or rejects. */
function get(target: string, path: string, onChunk: (text: string, soFar: string) => void = () => {}): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpGet(`http://${target}${path}`, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
        onChunk(c, body);
      });
      res.on("end", () => (res.complete ? resolve({ res, body }) : reject(new Error("response incomplete"))));
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("response aborted")));
    });
    r.on("error", reject);
    r.setTimeout(15_000, () => r.destroy(new Error("client timeout")));
  });
}

/** Marks every complete SSE event ("data: k\n\n") the client has seen. */
function markEvents(id: string) {
  return (_c: string, soFar: string) => {
    for (const m of soFar.matchAll(/data: (\d+)\n\n/g)) gates.mark(id, Number(m[1]));
  };
}

/** Waits (up to 5 s) until `count` stops moving for 200 ms, as a writer held back by flow control does; returns it. */
async function stalled(count: () => number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 25 && count() !== last; i++) {
    last = count();
    await sleep(200);
  }
  return count();
}

function gatewayRssKiB(): number {
  const status = readFileSync(`/proc/${gw.child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

describe("gRPC streams through the gateway", () => {
  it("delivers a server-streaming call message by message (each sent after the previous one arrived)", async () => {
    const c = client(plainTarget);
    const id = "watch-1";
    const got = await new Promise<{ messages: string[]; status: grpc.StatusObject }>((resolve, reject) => {
      const messages: string[] = [];
      const call = c.Watch!({ text: "", n: 5, id }, { deadline: Date.now() + 15_000 }) as grpc.ClientReadableStream<Msg>;
      call.on("data", (m: Msg) => {
        gates.mark(id, messages.length);
        messages.push(m.text);
      });
      call.on("error", reject);
      call.on("status", (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) resolve({ messages, status });
      });
    });
    c.close();
    expect(got.messages).toEqual(["event 0", "event 1", "event 2", "event 3", "event 4"]);
    expect(got.status.metadata.get("x-watch-end")).toEqual(["5"]);
  });

  it("passes a bidi-streaming echo", async () => {
    const c = client(plainTarget);
    const replies = await new Promise<string[]>((resolve, reject) => {
      const out: string[] = [];
      const call = c.Chat!({ deadline: Date.now() + 10_000 }) as grpc.ClientDuplexStream<Msg, Msg>;
      call.on("data", (m: Msg) => out.push(m.text));
      call.on("error", reject);
      call.on("status", (s: grpc.StatusObject) => (s.code === grpc.status.OK ? resolve(out) : reject(new Error(s.details))));
      for (const t of ["a", "b", "c"]) call.write({ text: t });
      call.end();
    });
    c.close();
    expect(replies).toEqual(["echo a", "echo b", "echo c"]);
  });

  it("ends the call abnormally when the upstream resets after its headers, and logs UR", async () => {
    const c = new (grpc.makeGenericClientConstructor({ Go: jsonMethod("/test.Reset/Go", { response: true }) }, "Reset"))(
      plainTarget,
      grpc.credentials.createInsecure(),
    ) as unknown as AnyClient;
    const from = gw.output().length;
    const result = await new Promise<{ messages: string[]; code: number }>((resolve) => {
      const messages: string[] = [];
      const call = c.Go!({ text: "" }, { deadline: Date.now() + 10_000 }) as grpc.ClientReadableStream<Msg>;
      call.on("data", (m: Msg) => messages.push(m.text));
      call.on("error", (e: grpc.ServiceError) => resolve({ messages, code: e.code }));
      call.on("status", (s: grpc.StatusObject) => {
        if (s.code === grpc.status.OK) resolve({ messages, code: s.code });
      });
    });
    c.close();
    expect(result.messages).toEqual(["first"]);
    expect(result.code).not.toBe(grpc.status.OK);
    await gw.waitFor(/"POST \/test\.Reset\/Go HTTP\/2" 200 UR /, 5000, from);
  });
});

describe("HTTP/1.1 streams through the gateway", () => {
  it("shows an SSE-like response to the client event by event", async () => {
    const id = "sse-1";
    const { res, body } = await get(plainTarget, `/events?id=${id}&n=4`, markEvents(id));
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    expect(body).toBe("data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n");
  });

  it("streams a 20 MiB response under flow control: a stalled client stalls the upstream, RSS stays bounded", async () => {
    // Warm up the path first (pools, JIT), then measure the growth of resident memory during one transfer.
    await get(plainTarget, "/big?mib=2");
    const size = 20 * 1024 * 1024;
    bigWritten = 0;
    const before = gatewayRssKiB();
    let received = 0;
    const res = await new Promise<IncomingMessage>((resolve, reject) => httpGet(`http://${plainTarget}/big?mib=20`, { agent: false }, resolve).on("error", reject));
    expect(res.headers["content-length"]).toBe(String(size));
    // The client reads 1 MiB, then stops reading: the upstream must come to a halt well before the end (a gateway
    // holding the body would read it all), and the gateway must not have grown by the body.
    let stalling = true;
    res.on("data", (c: Buffer) => {
      received += c.length;
      if (stalling && received >= 1024 * 1024) res.pause();
    });
    const stalledAt = await stalled(() => bigWritten);
    const growthMiB = (gatewayRssKiB() - before) / 1024;
    console.log(`20 MiB response, client stalled: upstream wrote ${(stalledAt / 1048576).toFixed(1)} MiB; gateway RSS growth ${growthMiB.toFixed(1)} MiB`);
    expect(stalledAt).toBeLessThan(size);
    expect(growthMiB).toBeLessThan(20);
    const ended = new Promise<void>((resolve, reject) => {
      res.on("end", resolve);
      res.on("error", reject);
    });
    stalling = false;
    res.resume();
    await ended;
    expect(received).toBe(size);
  });

  it("closes the downstream connection when the upstream resets after its headers, and logs UR", async () => {
    const from = gw.output().length;
    let seen = "";
    await expect(get(plainTarget, "/reset", (_c, soFar) => (seen = soFar))).rejects.toThrow();
    expect(seen).toBe("partial ");
    await gw.waitFor(/"GET \/reset HTTP\/1\.1" 200 UR /, 5000, from);
  });

  it("still retries before the response headers are sent", async () => {
    flakyAttempts = 0;
    const { res, body } = await get(plainTarget, "/flaky");
    expect(res.statusCode).toBe(200);
    expect(body).toBe("after retry");
    expect(flakyAttempts).toBe(2);
  });
});

describe("a wasm filter with response body callbacks on a streamed response", () => {
  it("sees every chunk as it arrives (each comes out wrapped by the filter)", async () => {
    const id = "filtered-sse";
    const { body } = await get(filteredTarget, `/events?id=${id}&n=3`, markEvents(id));
    expect(body).toBe("[data: 0\n\n][data: 1\n\n][data: 2\n\n]");
  });

  it("holds the body back while the filter answers StopIterationAndBuffer, then passes it whole", async () => {
    const chunks: string[] = [];
    const { body } = await get(filteredTarget, "/buffer?n=3", (c) => chunks.push(c));
    expect(body).toBe("[data: 0\n\ndata: 1\n\ndata: 2\n\n]");
    expect(chunks.join("")).toBe(body);
  });
});

/** An HTTP/1.1 request whose body the caller writes; resolves with the response once it has ended. */
function upload(target: string, path: string, headers: Record<string, string> = {}): { req: ClientRequest; done: Promise<{ status: number; body: string }> } {
  let req!: ClientRequest;
  const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req = httpRequest(`http://${target}${path}`, { method: "POST", agent: false, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error("client timeout")));
  });
  return { req, done };
}

/** Writes `data`, waiting for the socket to drain when it is full; counts what was handed over. */
async function writeAll(req: ClientRequest, data: Buffer, onWritten: (n: number) => void): Promise<void> {
  if (!req.write(data)) await new Promise((r) => req.once("drain", r));
  onWritten(data.length);
}

describe("request bodies stream upstream", () => {
  it("carries a ping-pong bidi gRPC call: message k+1 is sent only after reply k arrived", async () => {
      const c = client(plainTarget);
      const n = 5;
      const replies = await new Promise<string[]>((resolve, reject) => {
        const out: string[] = [];
        const call = c.Chat!({ deadline: Date.now() + 10_000 }) as grpc.ClientDuplexStream<Msg, Msg>;
        // Bounded: a gateway waiting for the end of the request stream never answers message 0.
        const stuck = setTimeout(() => reject(new Error(`no reply to message ${out.length} (request buffered?)`)), WAIT_MS);
        call.on("data", (m: Msg) => {
          out.push(m.text);
          if (out.length < n) call.write({ text: `m${out.length}` });
          else call.end();
        });
        call.on("error", reject);
        call.on("status", (st: grpc.StatusObject) => {
          clearTimeout(stuck);
          if (st.code === grpc.status.OK) resolve(out);
          else reject(new Error(st.details));
        });
        call.write({ text: "m0" });
      });
      c.close();
      expect(replies).toEqual(["echo m0", "echo m1", "echo m2", "echo m3", "echo m4"]);
  });

  // Through the filtered listener every request chunk passes the wasm filter's decodeData (Continue) on its way.
  for (const [name, target, wrap] of [
    ["", () => plainTarget, (b: string) => b],
    [" through a wasm filter", () => filteredTarget, (b: string) => `[${b}]`],
  ] as const) {
    it(`streams an HTTP/1.1 chunked upload${name}: the upstream sees each piece before the client has finished`, async () => {
      const id = `upload${name}`;
      const { req, done } = upload(target(), `/upload?id=${encodeURIComponent(id)}`);
      for (let k = 0; k < 4; k++) {
        req.write(`piece ${k}`.padEnd(PIECE, "."));
        await gates.wait(id, k); // rejects after WAIT_MS when the gateway holds the body
      }
      req.end();
      const res = await done;
      expect(res.status).toBe(200);
      expect(res.body).toBe(wrap(`${4 * PIECE} chunked`));
    });
  }

  it("streams an HTTP/2 request body upstream piece by piece and sends its trailers at the end", async () => {
    const id = "h2-upload";
    const session = h2Connect(`http://${plainTarget}`);
    try {
      const stream = session.request({ ":method": "POST", ":path": `/h2-upload?id=${id}` }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "x-client-end": "done" }));
      const answer = new Promise<string>((resolve, reject) => {
        let body = "";
        stream.setEncoding("utf8");
        stream.on("data", (c: string) => (body += c));
        stream.on("end", () => resolve(body));
        stream.on("error", reject);
      });
      for (let k = 0; k < 3; k++) {
        stream.write(`h2 piece ${k}`.padEnd(PIECE, "."));
        await gates.wait(id, k);
      }
      stream.end();
      expect(await answer).toBe(`${3 * PIECE} bytes, trailer done`);
    } finally {
      session.close();
    }
  });

  it("streams a 20 MiB upload under flow control: a stalled upstream stalls the client, RSS stays bounded", async () => {
    const size = 20 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    sinkRead = 0;
    sinkHeld = new Promise((r) => (releaseSink = r));
    const before = gatewayRssKiB();
    const { req, done } = upload(plainTarget, "/sink", { "content-length": String(size) });
    let written = 0;
    const writing = (async () => {
      for (let sent = 0; sent < size; sent += chunk.length) await writeAll(req, chunk, (n) => (written += n));
      req.end();
    })();
    const stalledAt = await stalled(() => written);
    const growthMiB = (gatewayRssKiB() - before) / 1024;
    console.log(`20 MiB upload, upstream stalled: client wrote ${(stalledAt / 1048576).toFixed(1)} MiB; gateway RSS growth ${growthMiB.toFixed(1)} MiB`);
    expect(stalledAt).toBeLessThan(size);
    expect(growthMiB).toBeLessThan(20);
    releaseSink();
    await writing;
    const res = await done;
    expect(res.status).toBe(200);
    expect(Number(res.body)).toBe(size);
  });

  it("still retries a streamed request whose body is small (503, then 200 with the whole body resent)", async () => {
    const id = "small";
    const { req, done } = upload(plainTarget, `/flaky-upload?id=${id}`);
    req.write("first half, ");
    await sleep(50);
    req.end("second half");
    const res = await done;
    expect(res.status).toBe(200);
    expect(res.body).toBe(`attempt 2: ${"first half, second half".length} bytes`);
    expect(uploadAttempts.get(id)).toBe(2);
  });

  it("does not retry a request whose streamed body is over 1 MiB (Envoy's buffer limit)", async () => {
    const id = "large";
    const { req, done } = upload(plainTarget, `/flaky-upload?id=${id}`);
    const chunk = Buffer.alloc(64 * 1024, 0x63);
    for (let i = 0; i < 32; i++) await writeAll(req, chunk, () => {});
    req.end();
    const res = await done;
    expect(res.status).toBe(503);
    expect(uploadAttempts.get(id)).toBe(1);
  });
});
