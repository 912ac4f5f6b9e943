// Debug and health endpoints of the control plane: /debug/configz (the config documents being served),
// /debug/syncz (per proxy and type: sent, ACKed and NACKed versions), /healthz/ready.
import { Hono } from "hono";
import type { ConfigSet } from "../config/config-set.js";
import type { SyncStatus } from "./sync-status.js";

export interface DebugSources {
  status: SyncStatus;
  /** The config currently served (undefined before the first valid load). */
  config: () => ConfigSet | undefined;
  /** True once the control plane serves (config loaded, servers listening). */
  ready: () => boolean;
}

export function createDebugApp(sources: DebugSources): Hono {
  const app = new Hono();
  app.get("/debug/configz", (c) => {
    const config = sources.config();
    const documents = (config?.documents ?? []).map((d) => ({
      apiVersion: d.apiVersion,
      kind: d.kind,
      namespace: d.namespace,
      name: d.name,
      source: { file: d.file, line: d.line },
      object: d.object,
    }));
    return c.json({ loaded: config !== undefined, documents });
  });
  app.get("/debug/syncz", (c) => c.json(sources.status.report()));
  app.get("/healthz/ready", (c) => (sources.ready() ? c.text("ready\n") : c.text("not ready\n", 503)));
  return app;
}
