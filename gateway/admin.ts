// The admin listener: Envoy's /ready (200 "LIVE"; 503 "PRE_INITIALIZING" before the first configuration is in
// service, "DRAINING" while shutting down) and Istio's /healthz/ready (200 "ready" / 503), what load balancers and
// Kubernetes readiness probes poll. Node-only.
import { Hono } from "hono";
import type { SocketAddr } from "./bootstrap/types.js";
import { listen, type RunningListener } from "./listener.js";

export interface AdminState {
  /** Listeners are up and (xDS) the first configuration has been applied. */
  ready(): boolean;
  /** SIGTERM received: listeners are draining. */
  draining(): boolean;
}

const ALWAYS_READY: AdminState = { ready: () => true, draining: () => false };

export function startAdmin(addr: SocketAddr, state: AdminState = ALWAYS_READY): Promise<RunningListener> {
  const app = new Hono();
  app.get("/ready", (c) => (state.draining() ? c.text("DRAINING\n", 503) : state.ready() ? c.text("LIVE\n") : c.text("PRE_INITIALIZING\n", 503)));
  app.get("/healthz/ready", (c) => (state.draining() ? c.text("draining\n", 503) : state.ready() ? c.text("ready\n") : c.text("not ready\n", 503)));
  app.all("*", (c) => c.text("halyard admin: /ready and /healthz/ready are served\n", 404));
  return listen("admin", addr, app.fetch);
}
