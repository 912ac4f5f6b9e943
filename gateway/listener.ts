// One Node HTTP server per listener (Hono via @hono/node-server). Node-only.
import { serve, type HttpBindings } from "@hono/node-server";
import type { AddressInfo, Socket } from "node:net";
import type { IncomingMessage, Server } from "node:http";
import type { HeaderMap } from "../wasm/host/index.js";
import { createListenerApp } from "./app.js";
import type { ListenerConfig, SocketAddr } from "./bootstrap/types.js";
import type { DownstreamRequest, HttpConnectionManager } from "./hcm.js";

type FetchCallback = Parameters<typeof serve>[0]["fetch"];

export interface RunningListener {
  name: string;
  /** The bound address (the real port when port_value was 0). */
  address: SocketAddr;
  close(): Promise<void>;
}

const connectionIds = new WeakMap<Socket, number>();
let nextConnectionId = 1;

function connectionId(s: Socket): number {
  let id = connectionIds.get(s);
  if (id === undefined) connectionIds.set(s, (id = nextConnectionId++));
  return id;
}

export function startListener(cfg: ListenerConfig, hcm: HttpConnectionManager): Promise<RunningListener> {
  const app = createListenerApp<HttpBindings>(hcm, (c) => {
    const incoming = c.env.incoming;
    const s = incoming.socket;
    return {
      request: fromIncomingMessage(incoming),
      info: {
        remote: { address: s.remoteAddress ?? "", port: s.remotePort ?? 0 },
        local: { address: s.localAddress ?? cfg.address.address, port: s.localPort ?? cfg.address.port },
        connectionId: connectionId(s),
      },
    };
  });
  return listen(cfg.name, cfg.address, app.fetch);
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
  return {
    method: m.method ?? "GET",
    path: m.url ?? "/",
    authority,
    scheme: "http",
    headers,
    body: () =>
      hasBody
        ? new Promise<Uint8Array>((resolve, reject) => {
            const chunks: Buffer[] = [];
            m.on("data", (c: Buffer) => chunks.push(c));
            m.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
            m.on("error", reject);
            m.on("close", () => {
              if (!m.complete) reject(new Error("downstream closed the request before its body ended"));
            });
          })
        : Promise.resolve(new Uint8Array(0)),
  };
}

/** Starts a @hono/node-server server and resolves once it is bound (rejects with a one-line reason). */
export function listen(name: string, addr: SocketAddr, fetch: (req: Request, env: HttpBindings) => Response | Promise<Response>): Promise<RunningListener> {
  return new Promise((resolve, reject) => {
    // An HTTP/1 server (no createServer override), so env is always HttpBindings.
    const server = serve({ fetch: fetch as FetchCallback, port: addr.port, hostname: addr.address }) as Server;
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
      });
    });
  });
}
