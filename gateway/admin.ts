// The admin listener: only Envoy's /ready for now (200 "LIVE" once the gateway runs). Node-only.
import { Hono } from "hono";
import type { SocketAddr } from "./bootstrap/types.js";
import { listen, type RunningListener } from "./listener.js";

export function startAdmin(addr: SocketAddr): Promise<RunningListener> {
  const app = new Hono();
  app.get("/ready", (c) => c.text("LIVE\n"));
  app.all("*", (c) => c.text("halyard admin: only /ready is served\n", 404));
  return listen("admin", addr, app.fetch);
}
