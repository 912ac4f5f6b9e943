// The control plane's HTTP port: REST-JSON xDS and the debug endpoints in one Hono app.
import { Hono } from "hono";
import type { SnapshotCache } from "./cache.js";
import { createDebugApp, type DebugSources } from "./debug.js";
import { createRestXdsApp } from "./rest.js";

export function createXdsHttpApp(cache: SnapshotCache, debug: DebugSources): Hono {
  const app = new Hono();
  app.route("/", createRestXdsApp(cache));
  app.route("/", createDebugApp(debug));
  return app;
}
