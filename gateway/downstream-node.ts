// The Node fast path between a downstream HTTP/2 stream (node:http2 core API) and the HCM: the stream becomes a
// DownstreamRequest and the HCM's response is written straight back with its trailers (gRPC status). No web
// Request/Response per request. HTTP/1 connections have their own codec (http1/server-node.ts). Node-only.
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { HeaderMap } from "../wasm/host/index.js";
import { BodyStream, writeWithBackpressure } from "./body-stream.js";
import { responseHasNoBody, type DownstreamRequest, type HcmResponse, type StreamedBody } from "./hcm.js";
import { fromIncoming, toOutgoing } from "./upstream-h2.js";
import { EMPTY_BODY, joinChunks } from "./chunks-node.js";

const NO_BODY = () => Promise.resolve(EMPTY_BODY);

// ---- HTTP/2 ----

export function fromHttp2Stream(stream: ServerHttp2Stream, rawHeaders: string[], scheme: string): DownstreamRequest {
  const headers: HeaderMap = [];
  let method = "GET";
  let path = "/";
  let authority = "";
  let host = "";
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const k = rawHeaders[i]!;
    const v = rawHeaders[i + 1]!;
    if (k.charCodeAt(0) === 58 /* ":" */) {
      if (k === ":method") method = v;
      else if (k === ":path") path = v;
      else if (k === ":authority") authority = v;
    } else if (k === "host") host ||= v;
    else headers.push([k, v]);
  }
  let trailers: HeaderMap = [];
  stream.once("trailers", (t: IncomingHttpHeaders, _flags: number, raw?: string[]) => {
    trailers = raw ? pairs(raw) : fromIncoming(t);
  });
  const ended = stream.endAfterHeaders;
  if (ended) stream.resume();
  const streamBody = () => readStreaming(stream, () => trailers);
  return {
    method,
    path,
    authority: authority || host,
    scheme,
    headers,
    protocol: "HTTP/2",
    body: ended ? NO_BODY : () => readAll(stream),
    trailers: () => trailers,
    ...(ended ? {} : { streamBody }),
  };
}

export function writeHttp2(stream: ServerHttp2Stream, { response: out, method }: HcmResponse): void {
  if (stream.destroyed || stream.closed) {
    out.more?.abort("downstream closed");
    return;
  }
  if (out.more) {
    if (responseHasNoBody(out.status, method)) out.more.abort("no body for this response");
    else return writeHttp2Streaming(stream, out);
  }
  const noBody = responseHasNoBody(out.status, method) || out.body.length === 0;
  const trailers = out.trailers && out.trailers.length > 0 ? toOutgoing(out.trailers) : undefined;
  const headers: OutgoingHttpHeaders = toOutgoing(out.headers.filter(([k]) => k !== "content-length" && k !== "te"));
  headers[":status"] = out.status;
  // A content-length the response had is kept (corrected); none is added: HTTP/2 frames delimit the body.
  if (out.headers.some(([k]) => k === "content-length") && !responseHasNoBody(out.status, method)) headers["content-length"] = String(out.body.length);
  try {
    stream.respond(headers, { endStream: noBody && !trailers, waitForTrailers: trailers !== undefined });
    if (trailers) stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    if (noBody) {
      if (trailers) stream.end();
    } else stream.end(out.body);
  } catch (e) {
    // A header Node refuses (invalid characters): the stream is reset rather than answered half.
    if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}

/** Headers now, then the body as it arrives, then the trailers; an upstream failure resets the stream. */
function writeHttp2Streaming(stream: ServerHttp2Stream, out: HcmResponse["response"]): void {
  const more = out.more!;
  const headers: OutgoingHttpHeaders = toOutgoing(out.headers.filter(([k]) => k !== "te"));
  headers[":status"] = out.status;
  let trailers: OutgoingHttpHeaders | undefined;
  let ended = false;
  try {
    // The trailers are known only at the end: the stream waits for them (none: an empty trailer block).
    stream.respond(headers, { waitForTrailers: true });
  } catch {
    more.abort("response headers refused");
    if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  stream.once("wantTrailers", () => {
    // An empty trailer block is a HEADERS frame with END_STREAM: a clean end without trailers.
    stream.sendTrailers(trailers ?? {});
  });
  if (out.body.length > 0) stream.write(out.body);
  more.start({
    data: writeWithBackpressure(stream, more),
    end: (t) => {
      ended = true;
      if (t && t.length > 0) trailers = toOutgoing(t);
      stream.end();
    },
    error: () => {
      ended = true;
      if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    },
  });
  stream.once("close", () => {
    if (!ended) more.abort("downstream reset");
  });
}

// ---- shared ----

function readAll(m: NodeJS.ReadableStream & { complete?: boolean; readableAborted?: boolean }): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    m.on("data", (c: Buffer) => chunks.push(c));
    m.on("end", () => {
      ended = true;
      resolve(joinChunks(chunks));
    });
    m.on("error", reject);
    m.on("close", () => {
      if (!ended) reject(new Error("downstream closed the request before its body ended"));
    });
  });
}

type DownstreamBody = NodeJS.ReadableStream & { destroy(error?: Error): void };

/**
 * What has arrived once the current read is handled; when the body has not ended by then, the rest follows as a
 * BodyStream with flow control (the downstream is paused while the upstream cannot take more) and the trailers.
 */
function readStreaming(m: DownstreamBody, trailers: () => HeaderMap): Promise<StreamedBody> {
  return new Promise<StreamedBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    let more: BodyStream | undefined;
    const whole = () => joinChunks(chunks);
    m.on("data", (c: Buffer) => (more ? more.push(c) : chunks.push(c)));
    m.on("end", () => {
      ended = true;
      if (more) more.end(trailers());
      else resolve({ body: whole() });
    });
    const failed = (e: Error) => (more ? more.fail(e) : reject(e));
    m.on("error", failed);
    m.on("close", () => {
      if (!ended) failed(new Error("downstream closed the request before its body ended"));
    });
    setImmediate(() => {
      if (ended) return;
      const first = whole();
      chunks.length = 0;
      more = new BodyStream({ pause: () => m.pause(), resume: () => m.resume(), abort: () => m.destroy() });
      resolve({ body: first, more });
    });
  });
}

function pairs(raw: string[]): HeaderMap {
  const out: HeaderMap = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}
