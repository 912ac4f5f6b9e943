// A real node:http upstream on 127.0.0.1 whose misbehaviour is chosen per request, for router and cluster tests:
// The behaviour is chosen by the path's last segments, so any route prefix may come first (/5xx/flaky?...):
//   /ok                      200 {"upstream": name}
//   /status/<code>           that status
//   /slow?ms=N               200 after N ms
//   /flaky?fail=N&mode=M     the first N attempts of one request (same x-request-id) fail with M: 503 | 500 | 409 |
//                            reset (socket destroyed before any response) | slow (2 s) | grpc14 (200 + grpc-status 14)
// Every request is recorded (path, headers) so tests can see what reached it.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Seen {
  url: string;
  headers: IncomingMessage["headers"];
}

export interface FlakyUpstream {
  name: string;
  port: number;
  seen: Seen[];
  /** Stops accepting and drops every open connection (a crashed upstream). */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/** delayMs: every answer of this upstream waits that long (a uniformly slow host). */
export function startFlakyUpstream(name: string, opts: { delayMs?: number } = {}): Promise<FlakyUpstream> {
  const seen: Seen[] = [];
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.push({ url: req.url ?? "", headers: req.headers });
      const url = new URL(req.url ?? "/", "http://x");
      const reply = (status: number, extra: Record<string, string> = {}) => {
        const send = () => {
          res.writeHead(status, { "content-type": "application/json", "x-upstream": name, ...extra });
          res.end(JSON.stringify({ upstream: name, status }));
        };
        if (opts.delayMs) setTimeout(send, opts.delayMs);
        else send();
      };
      const parts = url.pathname.split("/");
      const last = parts[parts.length - 1];
      if (parts[parts.length - 2] === "status") return reply(Number(last));
      if (last === "slow") return void setTimeout(() => reply(200), Number(url.searchParams.get("ms") ?? 0));
      if (last === "flaky") {
        const id = String(req.headers["x-request-id"] ?? "");
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        if (n <= Number(url.searchParams.get("fail") ?? 0)) {
          const mode = url.searchParams.get("mode") ?? "503";
          if (mode === "reset") return void req.socket.destroy();
          if (mode === "slow") return void setTimeout(() => reply(200), 2000);
          if (mode === "grpc14") return reply(200, { "content-type": "application/grpc", "grpc-status": "14" });
          return reply(Number(mode));
        }
      }
      reply(200);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.keepAliveTimeout = 5_000;
  const close = () =>
    new Promise<void>((r) => {
      if (!server.listening) return r();
      server.close(() => r());
      for (const s of sockets) s.destroy();
    });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({ name, port: (server.address() as AddressInfo).port, seen, kill: close, close }));
  });
}
