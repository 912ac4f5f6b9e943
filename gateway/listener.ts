// One Node HTTP server per listener. The data path is a Node fast path: node:http request straight into the HCM,
// the HCM's response written straight back (no web Request/Response per request); the portable Hono path in app.ts
// is what Workers use. Node-only.
import { serve, type HttpBindings } from "@hono/node-server";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { HeaderMap } from "../wasm/host/index.js";
import type { ListenerConfig, SocketAddr } from "./bootstrap/types.js";
import { responseHasNoBody, type DownstreamInfo, type DownstreamRequest, type HcmResponse, type HttpConnectionManager } from "./hcm.js";

type FetchCallback = Parameters<typeof serve>[0]["fetch"];

export interface RunningListener {
  name: string;
  /** The bound address (the real port when port_value was 0). */
  address: SocketAddr;
  close(): Promise<void>;
  /** Stops accepting, lets requests in flight finish (up to graceMs), then closes what is left. */
  drain(graceMs: number): Promise<void>;
}

const EMPTY = new Uint8Array(0);
const NO_BODY = () => Promise.resolve(EMPTY);
// Per connection, computed once: addresses and Envoy's connection id.
const connections = new WeakMap<Socket, DownstreamInfo>();
let nextConnectionId = 1;

function downstreamInfo(s: Socket, cfg: ListenerConfig): DownstreamInfo {
  let info = connections.get(s);
  if (!info) {
    info = {
      remote: { address: s.remoteAddress ?? "", port: s.remotePort ?? 0 },
      local: { address: s.localAddress ?? cfg.address.address, port: s.localPort ?? cfg.address.port },
      connectionId: nextConnectionId++,
    };
    connections.set(s, info);
  }
  return info;
}

export function startListener(cfg: ListenerConfig, hcm: Pick<HttpConnectionManager, "serve">): Promise<RunningListener> {
  const server = createServer((req, res) => {
    hcm.serve(fromIncomingMessage(req), downstreamInfo(req.socket, cfg)).then(
      (out) => writeResponse(res, out),
      (e) => {
        // serve() answers its own failures; this is a bug guard, never a hang.
        console.error(`halyard gateway: listener "${cfg.name}": ${e instanceof Error ? e.message : String(e)}`);
        if (!res.headersSent) res.writeHead(500, { "content-length": "0" });
        res.end();
      },
    );
  });
  return bind(cfg.name, cfg.address, server);
}

function writeResponse(res: ServerResponse, { response: out, method }: HcmResponse): void {
  const noBody = responseHasNoBody(out.status, method);
  const flat: string[] = [];
  for (const [k, v] of out.headers) {
    if (k.charCodeAt(0) === 58 /* ":" */ || (k === "content-length" && !noBody)) continue;
    flat.push(k, v);
  }
  if (!noBody) flat.push("content-length", String(out.body.length));
  res.writeHead(out.status, flat);
  res.end(noBody || out.body.length === 0 ? undefined : out.body);
}

// Reads the Node request directly: building a web Request per request costs more than the proxying around it.
function fromIncomingMessage(m: IncomingMessage): DownstreamRequest {
  const headers: HeaderMap = [];
  let authority = "";
  const raw = m.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (k === "host") authority ||= raw[i + 1]!;
    else headers.push([k, raw[i + 1]!]);
  }
  const hasBody = m.headers["transfer-encoding"] !== undefined || Number(m.headers["content-length"] ?? 0) > 0;
  if (!hasBody) m.resume();
  return {
    method: m.method ?? "GET",
    path: m.url ?? "/",
    authority,
    scheme: "http",
    headers,
    body: hasBody
      ? () =>
          new Promise<Uint8Array>((resolve, reject) => {
            const chunks: Buffer[] = [];
            m.on("data", (c: Buffer) => chunks.push(c));
            m.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
            m.on("error", reject);
            m.on("close", () => {
              if (!m.complete) reject(new Error("downstream closed the request before its body ended"));
            });
          })
      : NO_BODY,
  };
}

/** Starts a Hono app on @hono/node-server (the admin listener) and resolves once it is bound. */
export function listen(name: string, addr: SocketAddr, fetch: (req: Request, env: HttpBindings) => Response | Promise<Response>): Promise<RunningListener> {
  // An HTTP/1 server (no createServer override), so env is always HttpBindings.
  return bind(name, addr, serve({ fetch: fetch as FetchCallback, port: addr.port, hostname: addr.address }) as Server, true);
}

// Resolves once the server is bound (rejects with a one-line reason).
function bind(name: string, addr: SocketAddr, server: Server, listening = false): Promise<RunningListener> {
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "EADDRINUSE" ? "address already in use" : e.code === "EADDRNOTAVAIL" ? "address not available" : e.message;
      reject(new Error(`listener "${name}" on ${addr.address}:${addr.port}: ${why}`));
    });
    server.once("listening", () => {
      const a = server.address() as AddressInfo;
      resolve({
        name,
        address: { address: a.address, port: a.port },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
        drain: (graceMs) =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), graceMs);
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
    if (!listening) server.listen(addr.port, addr.address);
  });
}
