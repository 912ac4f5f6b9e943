// The gateway's own HTTP/1.1 codec: heads and the chunked coding parsed strictly (the request-smuggling cases
// refused), the downstream connection (pipelining, 100-continue, streaming both ways, errors) and the upstream pool
// (keep-alive reuse, queueing at max connections, framing of responses), against real sockets and node:http peers
// on 127.0.0.1.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HeaderMap } from "../wasm/host/index.js";
import { ChunkedDecoder } from "../gateway/http1/chunked.js";
import { Http1Pool, type UpstreamReply } from "../gateway/http1/client-node.js";
import { parseRequestHead, parseResponseHead } from "../gateway/http1/head.js";
import type { ProtocolError } from "../gateway/hcm.js";
import { Http1Connection, type Http1Handler } from "../gateway/http1/server-node.js";
import { exchange } from "./helpers/raw-exchange.js";
import { requestHead, responseHead } from "../gateway/http1/write.js";
import type { BodyStream } from "../gateway/body-stream.js";

const head = (lines: string[]) => lines.join("\r\n");

describe("request heads", () => {
  it("parses the request line, headers in order, framing and keep-alive", () => {
    const h = parseRequestHead(head(["POST /pay?x=1 HTTP/1.1", "Host: payments.example.com", "X-A:  one ", "Content-Length: 5", "x-a: two\xa0"]));
    expect(h).toMatchObject({
      method: "POST",
      target: "/pay?x=1",
      minor: 1,
      headers: [["host", "payments.example.com"], ["x-a", "one"], ["content-length", "5"], ["x-a", "two\xa0"]],
      contentLength: 5,
      chunked: false,
      keepAlive: true,
      expectContinue: false,
    });
    expect(parseRequestHead(head(["GET / HTTP/1.0"]))).toMatchObject({ minor: 0, keepAlive: false, contentLength: -1 });
    expect(parseRequestHead(head(["GET / HTTP/1.0", "Connection: Keep-Alive"]))).toMatchObject({ keepAlive: true });
    expect(parseRequestHead(head(["GET / HTTP/1.1", "Host: h", "Connection: close"]))).toMatchObject({ keepAlive: false });
    expect(parseRequestHead(head(["PUT /u HTTP/1.1", "Host: h", "Transfer-Encoding: chunked", "Expect: 100-continue"]))).toMatchObject({ chunked: true, expectContinue: true });
    expect(parseRequestHead(head(["GET http://a.example/p HTTP/1.1", "Host: b"]))).toMatchObject({ target: "http://a.example/p" });
  });

  it.each([
    [["GET / HTTP/1.1", "Host: h", "Content-Length: 3", "Transfer-Encoding: chunked"], 400, "both content-length and transfer-encoding"],
    [["GET / HTTP/1.1", "Host: h", "Content-Length: 3", "Content-Length: 4"], 400, "conflicting content-length"],
    [["GET / HTTP/1.1", "Host: h", "Content-Length: +3"], 400, "invalid content-length"],
    [["GET / HTTP/1.1", "Host: h", "Transfer-Encoding: gzip, chunked"], 501, "unsupported transfer-encoding"],
    [["GET / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked, gzip"], 400, "invalid transfer-encoding"],
    [["GET / HTTP/1.1", "Host: h", "X-A: one", " folded"], 400, "obsolete line folding"],
    [["GET / HTTP/1.1", "Host: h", "X A: one"], 400, "invalid header name"],
    [["GET / HTTP/1.1", "Host: h", "X-A : one"], 400, "invalid header name"],
    [["GET / HTTP/1.1", "Host: h", "X-A: o\x00ne"], 400, "invalid value"],
    [["GET / HTTP/1.1", "Host: h", "X-A: one\nX-B: two"], 400, "invalid value"],
    [["GET / HTTP/1.1"], 400, "missing host header"],
    [["GET / HTTP/1.1", "Host: a", "Host: b"], 400, "more than one host"],
    [["GET / HTTP/2.0", "Host: h"], 505, "unsupported version"],
    [["GET /a b HTTP/1.1", "Host: h"], 400, "invalid request target"],
    [["G(T / HTTP/1.1", "Host: h"], 400, "invalid method"],
    [["GET / HTTP/1.0", "Transfer-Encoding: chunked"], 400, "transfer-encoding in an HTTP/1.0 request"],
  ])("refuses %j with %i", (lines, status, reason) => {
    const h = parseRequestHead(head(lines));
    expect(h).toMatchObject({ status });
    expect("error" in h && h.error).toContain(reason);
  });

  it("answers 431 past the header count limit", () => {
    const lines = ["GET / HTTP/1.1", "Host: h", ...Array.from({ length: 100 }, (_, i) => `x-${i}: v`)];
    expect(parseRequestHead(head(lines))).toMatchObject({ status: 431 });
  });

  it("parses response heads, with or without a reason phrase", () => {
    expect(parseResponseHead(head(["HTTP/1.1 200 OK", "Content-Length: 2"]))).toMatchObject({ status: 200, contentLength: 2, keepAlive: true });
    expect(parseResponseHead(head(["HTTP/1.1 204"]))).toMatchObject({ status: 204, contentLength: -1 });
    expect(parseResponseHead(head(["HTTP/1.0 200 OK"]))).toMatchObject({ keepAlive: false });
    expect(parseResponseHead(head(["HTTP/1.1 2000 OK"]))).toMatchObject({ status: 400 });
    expect(parseResponseHead(head(["HTTX/1.1 200 OK"]))).toMatchObject({ status: 400 });
  });
});

describe("writing heads", () => {
  it("writes framing itself and refuses values that would split the message", () => {
    const text = responseHead(200, [["x-a", "1"], ["content-length", "99"], ["connection", "keep-alive"], [":status", "200"], ["date", "d"]], { contentLength: 2 });
    expect(text).toBe("HTTP/1.1 200 OK\r\nx-a: 1\r\ndate: d\r\ncontent-length: 2\r\n\r\n");
    expect(responseHead(200, [["x-a", "1\r\nset-cookie: evil"]], { contentLength: 0 })).toBeUndefined();
    expect(responseHead(200, [["x a", "1"]], { contentLength: 0 })).toBeUndefined();
    expect(responseHead(200, [], { contentLength: -1 })).toMatch(/^HTTP\/1\.1 200 OK\r\ndate: .+ GMT\r\n\r\n$/);
    expect(requestHead("GET", "/p", [["host", "h"]], { contentLength: -1, chunked: true })).toBe("GET /p HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n");
    expect(requestHead("GET", "/p q", [], { contentLength: -1 })).toBeUndefined();
  });
});

describe("the chunked coding", () => {
  const encoded = Buffer.from("5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nx-t: done\r\nx-u: 2\r\n\r\nNEXT");

  it("decodes the same from any split of the input, and says where the body ended", () => {
    for (let cut = 0; cut <= encoded.length; cut++) {
      const parts: string[] = [];
      let trailers: HeaderMap | undefined;
      const d = new ChunkedDecoder({ data: (c) => parts.push(Buffer.from(c).toString()), end: (t) => (trailers = t) });
      const first = d.write(encoded.subarray(0, cut));
      let rest = "";
      if (first >= 0) rest = encoded.subarray(first).toString();
      else {
        const second = encoded.subarray(cut);
        const at = d.write(second);
        rest = at >= 0 ? second.subarray(at).toString() : "";
      }
      expect([parts.join(""), trailers, rest]).toEqual(["hello, world", [["x-t", "done"], ["x-u", "2"]], "NEXT"]);
    }
  });

  it.each([
    ["zz\r\n", "invalid chunk size"],
    ["5\nhello\r\n", "invalid chunk size"],
    ["5\r\nhelloX\r\n", "chunk data not followed by CRLF"],
    ["0\r\nx-t: a\n\r\n", "trailer line not ended by CRLF"],
    ["ffffffffffffff\r\n", "chunk size too large"],
  ])("refuses %j", (input, reason) => {
    const d = new ChunkedDecoder({ data: () => {}, end: () => {} });
    expect(() => d.write(Buffer.from(input))).toThrow(reason);
  });
});


describe("the downstream connection", () => {
  let server: Server;
  let port: number;
  let draining = false;
  const errors: string[] = [];
  const refused: ProtocolError[] = [];
  const conns = new Set<Http1Connection>();
  // Echoes method, path, authority and body (whole or streamed: the first part and the rest), with a chosen status.
  const handler: Http1Handler = async (req) => {
    let body: string;
    let streamed = false;
    if (req.streamBody) {
      const s = await req.streamBody();
      streamed = s.more !== undefined;
      body = Buffer.from(s.body).toString() + (s.more ? await drain(s.more) : "");
    } else body = Buffer.from(await req.body()).toString();
    if (req.path === "/slow") await new Promise((r) => setTimeout(r, 100));
    if (req.path === "/described") return { method: req.method, response: { status: 200, headers: [["content-length", "42"]], body: Buffer.from("x".repeat(42)) } as never };
    if (req.path === "/evil") return { method: req.method, response: { status: 200, headers: [["x-a", "1\r\nx-b: 2"]], body: new Uint8Array(0) } as never };
    const text = JSON.stringify({ method: req.method, path: req.path, authority: req.authority, protocol: req.protocol, body, streamed, trailers: req.trailers?.() ?? [] });
    return { method: req.method, response: { status: 200, headers: [["content-type", "application/json"]], body: Buffer.from(text) } as never };
  };

  beforeAll(async () => {
    server = createServer((s) => {
      const c = new Http1Connection(s, handler, { scheme: "http", draining: () => draining, onError: (m) => errors.push(m), onRefused: (r) => refused.push(r) });
      conns.add(c);
      s.once("close", () => conns.delete(c));
      c.start(undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    for (const c of conns) c.destroy();
    server.close();
  });

  it("answers pipelined requests in order on one connection", async () => {
    const out = await exchange(
      port,
      "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n",
    );
    const bodies = responses(out).map((r) => JSON.parse(r.body) as { path: string; body: string });
    expect(bodies.map((b) => [b.path, b.body])).toEqual([["/slow", ""], ["/two", "abc"], ["/three", ""]]);
    expect(responses(out).map((r) => /connection: close/.test(r.head))).toEqual([false, false, true]);
  });

  it("streams a chunked request body and keeps its trailers; answers 100-continue first", async () => {
    const out = await exchange(
      port,
      [Buffer.from("PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n"), Buffer.from("2\r\nde\r\n0\r\nx-sum: 5\r\n\r\n")],
      undefined,
      50,
    );
    expect(out.startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")).toBe(true);
    const body = JSON.parse(out.slice(out.lastIndexOf("\r\n\r\n") + 4)) as { body: string; streamed: boolean; trailers: HeaderMap };
    expect(body).toMatchObject({ body: "abcde", streamed: true, trailers: [["x-sum", "5"]] });
  });

  it("answers HTTP/1.0 without keep-alive and closes; absolute-form targets give the authority", async () => {
    const out = await exchange(port, "GET http://svc.example:8080/p?q HTTP/1.0\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).toMatch(/connection: close\r\n/);
    expect(JSON.parse(out.slice(out.indexOf("\r\n\r\n") + 4))).toMatchObject({ path: "/p?q", authority: "svc.example:8080", protocol: "HTTP/1.0" });
  });

  it("a HEAD response keeps the length of the body it describes and sends none", async () => {
    const out = await exchange(port, "HEAD /described HTTP/1.1\r\nHost: h\r\n\r\nGET /described HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    const [head, get] = out.split(/(?=HTTP\/1\.1 200)/);
    expect(head).toMatch(/content-length: 42\r\n\r\n$/);
    expect(get).toMatch(/content-length: 42\r\nconnection: close\r\n\r\nx{42}$/);
  });

  it("refuses a smuggling-shaped request with 400 and closes, without calling the handler", async () => {
    const out = await exchange(port, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(out).toMatch(/connection: close/);
    expect(out).not.toContain("/admin");
    expect(refused.at(-1)).toMatchObject({ status: 400, bytesSent: "Bad Request".length });
  });

  it("answers 431 to a head over 60 KiB and 502 to a response header that would split the message", async () => {
    const big = await exchange(port, `GET / HTTP/1.1\r\nHost: h\r\nx-big: ${"a".repeat(70 * 1024)}\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(refused.at(-1)).toMatchObject({ status: 431, bytesSent: "Request Header Fields Too Large".length });
    const evil = await exchange(port, "GET /evil HTTP/1.1\r\nHost: h\r\n\r\n");
    expect(evil).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(evil).not.toContain("x-b: 2");
    expect(errors.some((e) => e.includes("cannot be sent"))).toBe(true);
  });

  it("draining: an idle keep-alive connection is closed, a busy one answers with Connection: close", async () => {
    const s = connect(port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    s.write("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    await new Promise((r) => s.once("data", r));
    const closed = new Promise((r) => s.once("close", r));
    draining = true;
    try {
      for (const c of conns) c.closeWhenIdle();
      await closed;
      const out = await exchange(port, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
      expect(out).toMatch(/connection: close\r\n/);
    } finally {
      draining = false;
    }
  });
});

/** Responses with a content-length, one after another in `out`. */
function responses(out: string): Array<{ head: string; body: string }> {
  const found: Array<{ head: string; body: string }> = [];
  let at = 0;
  while (at < out.length) {
    const end = out.indexOf("\r\n\r\n", at);
    const head = out.slice(at, end);
    const length = Number(/content-length: (\d+)/.exec(head)![1]);
    found.push({ head, body: out.slice(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return found;
}

async function drain(more: BodyStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    more.start({ data: (c) => parts.push(Buffer.from(c)), end: () => resolve(Buffer.concat(parts).toString()), error: reject });
  });
}

describe("the upstream pool", () => {
  let upstream: HttpServer;
  let port: number;
  const peers = new Set<string>();
  beforeAll(async () => {
    upstream = createHttpServer((req, res) => {
      peers.add(`${req.socket.remotePort}`);
      const url = req.url ?? "/";
      if (url === "/chunked") {
        res.writeHead(200, { trailer: "x-t" });
        res.write("part1,");
        setTimeout(() => {
          res.addTrailers({ "x-t": "end" });
          res.end("part2");
        }, 30);
      } else if (url === "/nocontent") {
        res.writeHead(204);
        res.end();
      } else if (url === "/slow") setTimeout(() => res.end("slow"), 100);
      else res.end(`hello ${req.method} ${url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    port = (upstream.address() as AddressInfo).port;
  });
  afterAll(() => {
    upstream.closeAllConnections();
    upstream.close();
  });

  const open = () => ({ socket: connect(port, "127.0.0.1") as Socket, ready: "connect" as const });
  const send = (pool: Http1Pool, method: string, path: string) =>
    new Promise<UpstreamReply & { text: string }>((resolve, reject) => {
      pool.acquire(open, (e, c) => {
        if (e) return reject(e);
        c!.send(
          {
            method,
            response: async (r) => resolve({ ...r, text: Buffer.from(r.body).toString() + (r.more ? await drain(r.more) : "") }),
            failed: (err) => reject(err),
          },
          requestHead(method, path, [["host", "up"]], { contentLength: -1 })!,
          new Uint8Array(0),
        );
      });
    });

  it("reuses one keep-alive connection for requests in sequence", async () => {
    const pool = new Http1Pool({ maxConnections: 4 });
    peers.clear();
    for (let i = 0; i < 5; i++) expect((await send(pool, "GET", `/n${i}`)).text).toBe(`hello GET /n${i}`);
    expect(peers.size).toBe(1);
    expect(pool.connections).toBe(1);
    pool.destroy();
  });

  it("queues requests beyond max connections and serves them as connections free up", async () => {
    const pool = new Http1Pool({ maxConnections: 2 });
    peers.clear();
    const t0 = Date.now();
    const replies = await Promise.all(Array.from({ length: 4 }, () => send(pool, "GET", "/slow")));
    expect(replies.map((r) => r.text)).toEqual(["slow", "slow", "slow", "slow"]);
    expect(peers.size).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    pool.destroy();
  });

  it("streams a chunked response with trailers; HEAD and 204 have no body", async () => {
    const pool = new Http1Pool({ maxConnections: 1 });
    const chunked = await send(pool, "GET", "/chunked");
    expect(chunked.more).toBeDefined();
    expect(chunked.text).toBe("part1,part2");
    const head = await send(pool, "HEAD", "/x");
    expect([head.status, head.text]).toEqual([200, ""]);
    const none = await send(pool, "GET", "/nocontent");
    expect([none.status, none.text]).toEqual([204, ""]);
    expect((await send(pool, "GET", "/after")).text).toBe("hello GET /after");
    expect(pool.connections).toBe(1);
    pool.destroy();
  });

  /** A one-request upstream that answers `answer` as raw bytes (then ends the connection when `end`). */
  async function rawExchange(answer: string, end: boolean): Promise<{ pool: Http1Pool; outcome: string | NodeJS.ErrnoException; close(): void }> {
    const raw = createServer((s) => s.once("data", () => (end ? s.end(answer) : s.write(answer))));
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    const rawPort = (raw.address() as AddressInfo).port;
    const pool = new Http1Pool({ maxConnections: 1 });
    const outcome = await new Promise<string | NodeJS.ErrnoException>((resolve) => {
      pool.acquire(() => ({ socket: connect(rawPort, "127.0.0.1"), ready: "connect" }), (e, c) => {
        if (e) return resolve(e);
        const exchange = { method: "GET", response: async (r: UpstreamReply) => resolve(Buffer.from(r.body).toString() + (r.more ? await drain(r.more) : "")), failed: resolve };
        c!.send(exchange, "GET / HTTP/1.1\r\nhost: x\r\n\r\n", new Uint8Array(0));
      });
    });
    return { pool, outcome, close: () => (pool.destroy(), raw.close()) };
  }

  it("reads a body delimited by the connection's end and does not reuse that connection", async () => {
    const { pool, outcome, close } = await rawExchange("HTTP/1.0 200 OK\r\nx-a: 1\r\n\r\nuntil the end", true);
    expect(outcome).toBe("until the end");
    await new Promise((r) => setTimeout(r, 20));
    expect(pool.connections).toBe(0);
    close();
  });

  it("a malformed response fails the exchange as a protocol error", async () => {
    const { outcome, close } = await rawExchange("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", false);
    expect(typeof outcome === "string" ? outcome : outcome.message).toContain("conflicting content-length");
    close();
  });

  it("a request whose response never comes fails when the pool is destroyed; queued ones are told", async () => {
    const pool = new Http1Pool({ maxConnections: 1 });
    const first = expect(send(pool, "GET", "/slow")).rejects.toThrow("upstream connection closed");
    const queued = expect(send(pool, "GET", "/n")).rejects.toThrow("upstream pool closed");
    pool.destroy();
    await first;
    await queued;
  });
});

describe("round trips (fast-check)", () => {
  const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9a-z]{1,12}$/);
  // Field values as they parse back: surrounding whitespace is not part of them (RFC 9112 section 5).
  const value = fc.stringMatching(/^[\x20-\x7e\x80-\xff]{0,30}$/).map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ""));
  const reserved = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "expect"]);
  const fields = fc.array(fc.tuple(token, value), { maxLength: 20 }).map((hs) => hs.filter(([k]) => !reserved.has(k)));

  it("a written request head parses back to its method, target and headers", () => {
    fc.assert(
      fc.property(token.map((t) => t.toUpperCase()), fc.stringMatching(/^\/[\x21-\x7e]{0,40}$/), fields, fc.integer({ min: -1, max: 1e6 }), (method, path, headers, length) => {
        const all: HeaderMap = [["host", "h.example"], ...headers];
        const text = requestHead(method, path, all, { contentLength: length, chunked: length < 0 })!;
        const h = parseRequestHead(text.slice(0, -4));
        if ("error" in h) throw new Error(h.error);
        expect(h.method).toBe(method);
        expect(h.target).toBe(path);
        expect(h.headers.slice(0, all.length)).toEqual(all);
        expect([h.contentLength, h.chunked]).toEqual(length < 0 ? [-1, true] : [length, false]);
      }),
      { numRuns: 300 },
    );
  });

  it("a chunked body decodes to its bytes from any two-way split", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 6 }), fc.nat(), (chunks, cutSeed) => {
        const wire = Buffer.concat([...chunks.flatMap((c) => [Buffer.from(`${c.length.toString(16)}\r\n`), Buffer.from(c), Buffer.from("\r\n")]), Buffer.from("0\r\n\r\n")]);
        const cut = cutSeed % (wire.length + 1);
        const got: Buffer[] = [];
        let ended = false;
        const d = new ChunkedDecoder({ data: (c) => got.push(Buffer.from(c)), end: () => (ended = true) });
        const a = d.write(wire.subarray(0, cut));
        if (a < 0) expect(d.write(wire.subarray(cut))).toBe(wire.length - cut);
        else expect(a).toBe(cut);
        expect(ended).toBe(true);
        expect(Buffer.concat(got).equals(Buffer.concat(chunks.map((c) => Buffer.from(c))))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
