// Runs a GatewayConfig on Node: compiles each wasm file once, loads one plugin per wasm http filter, starts one
// server per listener (and the admin listener). Node-only.
import type { HostOptions, LogLevel, WasmPlugin } from "../wasm/host/index.js";
import { formatPath } from "./bootstrap/errors.js";
import type { AccessLogConfig, GatewayConfig } from "./bootstrap/types.js";
import { openAccessLog, type NodeAccessLog } from "./access-log-node.js";
import { startAdmin } from "./admin.js";
import { ClusterManager } from "./clusters.js";
import { nodeDnsResolvers } from "./dns-node.js";
import { HttpConnectionManager } from "./hcm.js";
import { clusterHttpCall } from "./http-call.js";
import { startListener, type RunningListener } from "./listener.js";
import { Router } from "./router.js";
import { routeResolver } from "./scoped-routes.js";
import { NodeUpstreamTransport } from "./upstream-node.js";
import type { WatchableSecretSource } from "./upstream-tls-node.js";
import { WasmCode } from "./wasm-code-node.js";
import { loadFilterPlugin, nodeProperties } from "./wasm-filters.js";

export interface GatewayOptions {
  /** Names the bootstrap in startup errors. */
  file?: string;
  logLevel?: LogLevel;
  /** The access log of every HCM whose config has no access_log (`halyard gateway --access-log`). */
  defaultAccessLog?: AccessLogConfig;
  /** Where clusters' SDS-named upstream certificates are re-read when they change (its `watch`). */
  upstreamSecrets?: WatchableSecretSource;
}

export interface RunningGateway {
  listeners: RunningListener[];
  admin?: RunningListener;
  close(): Promise<void>;
  /**
   * Graceful shutdown: listeners stop accepting, requests in flight finish (up to graceMs; Envoy's drain time),
   * admin readiness turns 503, then everything is closed.
   */
  drain(graceMs: number): Promise<void>;
}

export class GatewayStartError extends Error {}

export async function startGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<RunningGateway> {
  const transport = new NodeUpstreamTransport(opts.upstreamSecrets ? { secrets: opts.upstreamSecrets } : {});
  const clusters = new ClusterManager(config.clusters, undefined, nodeDnsResolvers, transport.endpoints);
  const hostOptions: HostOptions = {
    properties: nodeProperties(config.node),
    httpCall: clusterHttpCall(clusters, transport),
    ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
  };
  const code = new WasmCode();
  const plugins: WasmPlugin[] = [];
  const listeners: RunningListener[] = [];
  const accessLogs: NodeAccessLog[] = [];
  let admin: RunningListener | undefined;
  let draining = false;
  const close = async () => {
    await Promise.all([...listeners, ...(admin ? [admin] : [])].map((l) => l.close()));
    await Promise.all(plugins.map((p) => p.close()));
    clusters.close();
    transport.close();
    await Promise.all(accessLogs.map((l) => l.close()));
  };
  try {
    for (const [i, l] of config.listeners.entries()) {
      const chain: WasmPlugin[] = [];
      for (const [j, f] of l.hcm.httpFilters.entries()) {
        const where = `${opts.file ?? "bootstrap"}: ${formatPath(["static_resources", "listeners", i, "filter_chains", 0, "filters", 0, "typed_config", "http_filters", j])}`;
        const plugin = await loadFilterPlugin(await code.module(f.codePath, where), f, where, hostOptions);
        plugins.push(plugin);
        chain.push(plugin);
      }
      const sinks = (l.hcm.accessLogs ?? (opts.defaultAccessLog ? [opts.defaultAccessLog] : [])).map((cfg, j) => {
        try {
          const log = openAccessLog(cfg);
          accessLogs.push(log);
          return log.sink;
        } catch (e) {
          const where = l.hcm.accessLogs
            ? `${opts.file ?? "bootstrap"}: ${formatPath(["static_resources", "listeners", i, "filter_chains", 0, "filters", 0, "typed_config", "access_log", j])}`
            : "--access-log";
          throw new GatewayStartError(`${where}: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
      const router = new Router(routeResolver(l.hcm), clusters, transport);
      const hcm = new HttpConnectionManager(l.hcm, chain, router, undefined, sinks);
      listeners.push(await startListener(l, hcm));
    }
    if (config.admin) admin = await startAdmin(config.admin, { ready: () => !draining, draining: () => draining });
  } catch (e) {
    await close();
    throw e instanceof GatewayStartError ? e : new GatewayStartError(e instanceof Error ? e.message : String(e));
  }
  const drain = async (graceMs: number) => {
    draining = true;
    await Promise.all(listeners.map((l) => l.drain(graceMs)));
    await close();
  };
  return { listeners, ...(admin ? { admin } : {}), close, drain };
}
