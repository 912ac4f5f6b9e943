// Serves a Hono app on Node (@hono/node-server). Node-only, unlike the apps it serves.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";

export interface RunningHttpServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Resolves once bound (port 0: an ephemeral port); rejects with a one-line reason. */
export function startHttpServer(app: Hono, host: string, port: number): Promise<RunningHttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }) as Server;
    server.once("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "EADDRINUSE" ? "address already in use" : e.code === "EADDRNOTAVAIL" ? "address not available" : e.message;
      reject(new Error(`HTTP server on ${host}:${port}: ${why}`));
    });
    server.once("listening", () => {
      const bound = server.address() as AddressInfo;
      resolve({
        host,
        port: bound.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
