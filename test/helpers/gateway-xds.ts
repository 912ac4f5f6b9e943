// For the xDS-fed gateway tests: hand-built HTTP resources (a listener whose HCM uses RDS, route configurations with
// cluster / cluster_header routes, EDS clusters, load assignments) and a `halyard gateway` child process whose output
// can be waited on. Loopback only.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { create, type Message } from "@bufbuild/protobuf";
import { anyPack, StringValueSchema } from "@bufbuild/protobuf/wkt";
import { ApiVersion } from "../../gen/envoy/config/core/v3/config_source_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { WasmSchema } from "../../gen/envoy/extensions/filters/http/wasm/v3/wasm_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { edsCluster, loadAssignment } from "./xds-resources.js";
import { root } from "./gateway-process.js";

const ads = { configSourceSpecifier: { case: "ads" as const, value: {} }, resourceApiVersion: ApiVersion.V3 };
export const HALYARD_WASM = join(root, "wasm/build/halyard.wasm");

export type WasmCode = { file: string } | { uri: string; sha256: string };

export function wasmHttpFilter(name: string, rootId: string, code: WasmCode, configuration: string) {
  const specifier =
    "file" in code
      ? { case: "local" as const, value: { specifier: { case: "filename" as const, value: code.file } } }
      : {
          case: "remote" as const,
          value: { httpUri: { uri: code.uri, httpUpstreamType: { case: "cluster" as const, value: "wasm-server" }, timeout: { seconds: 2n } }, sha256: code.sha256 },
        };
  const wasm = create(WasmSchema, {
    config: {
      name,
      rootId,
      vm: { case: "vmConfig", value: { vmId: name, runtime: "envoy.wasm.runtime.v8", code: { specifier } } },
      configuration: anyPack(StringValueSchema, create(StringValueSchema, { value: configuration })),
    },
  });
  return { name: "envoy.filters.http.wasm", configType: { case: "typedConfig" as const, value: anyPack(WasmSchema, wasm) } };
}

const routerFilter = () => ({ name: "envoy.filters.http.router", configType: { case: "typedConfig" as const, value: anyPack(RouterSchema, create(RouterSchema)) } });

export interface HttpListenerSpec {
  name: string;
  port: number;
  rds: string;
  filters?: ReturnType<typeof wasmHttpFilter>[];
  /** Sets Listener.per_connection_buffer_limit_bytes, a field halyard does not implement. */
  unsupported?: boolean;
}

export function httpListener(spec: HttpListenerSpec): Listener {
  const hcm = create(HttpConnectionManagerSchema, {
    statPrefix: spec.name,
    routeSpecifier: { case: "rds", value: { configSource: ads, routeConfigName: spec.rds } },
    httpFilters: [...(spec.filters ?? []), routerFilter()],
  });
  return create(ListenerSchema, {
    name: spec.name,
    address: { address: { case: "socketAddress", value: { address: "127.0.0.1", portSpecifier: { case: "portValue", value: spec.port } } } },
    filterChains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", configType: { case: "typedConfig", value: anyPack(HttpConnectionManagerSchema, hcm) } }] }],
    ...(spec.unsupported ? { perConnectionBufferLimitBytes: 1024 } : {}),
  });
}

/** Routes as [prefix, cluster] or [prefix, {header}] (cluster_header), first match wins. */
export function httpRoutes(name: string, routes: Array<[string, string | { header: string }]>): RouteConfiguration {
  return create(RouteConfigurationSchema, {
    name,
    virtualHosts: [
      {
        name: "all",
        domains: ["*"],
        routes: routes.map(([prefix, to]) => ({
          match: { pathSpecifier: { case: "prefix", value: prefix } },
          action: {
            case: "route",
            value: { clusterSpecifier: typeof to === "string" ? { case: "cluster", value: to } : { case: "clusterHeader", value: to.header } },
          },
        })),
      },
    ],
  });
}

export interface HttpSnapshotSpec {
  listeners: HttpListenerSpec[];
  routes: Record<string, Array<[string, string | { header: string }]>>;
  /** EDS cluster name -> endpoint ports on 127.0.0.1. */
  clusters: Record<string, number[]>;
}

export function httpResources(spec: HttpSnapshotSpec): Record<"listeners" | "routes" | "clusters" | "endpoints", Message[]> {
  return {
    listeners: spec.listeners.map(httpListener),
    routes: Object.entries(spec.routes).map(([n, r]) => httpRoutes(n, r)),
    clusters: Object.keys(spec.clusters).map(edsCluster),
    endpoints: Object.entries(spec.clusters).map(([n, ports]) => loadAssignment(n, ports)),
  };
}

export interface GatewayChild {
  child: ChildProcess;
  output(): string;
  /** Waits until the output matches `re` (counting from `from`), returning the match. */
  waitFor(re: RegExp, timeoutMs?: number, from?: number): Promise<RegExpExecArray>;
  stop(): Promise<number | null>;
}

export function spawnGateway(args: string[]): GatewayChild {
  const child = spawn(process.execPath, [join(root, "bin/halyard.js"), "gateway", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const listeners: Array<() => void> = [];
  const wake = () => listeners.splice(0).forEach((l) => l());
  child.stdout!.on("data", (d) => ((out += d), wake()));
  child.stderr!.on("data", (d) => ((out += d), wake()));
  const exited = new Promise<number | null>((r) => child.on("close", (code) => (wake(), r(code))));
  return {
    child,
    output: () => out,
    async waitFor(re, timeoutMs = 10_000, from = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out.slice(from));
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode}) before printing ${re}\n${out}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}\n${out}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          listeners.push(() => (clearTimeout(t), r()));
        });
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
