// `halyard proxy-config {listeners|routes|clusters|endpoints|all} --node <id> (-f <path>... | --xds <host:port>)
// [-o short|json|yaml] [--label k=v]... [--meta KEY=VALUE]... [--wasm <path>]`: what one proxy is served, either
// translated locally from config files or fetched from a running control plane's ADS as that node. JSON and YAML
// are canonical proto3 JSON (the generated registry resolves every Any); the default is a short table as istioctl
// prints.
import { toJson, type DescMessage, type JsonObject, type JsonValue, type Message } from "@bufbuild/protobuf";
import { stringify } from "yaml";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { registry as protoRegistry } from "../../gen/registry.js";
import { buildConfigSet } from "../config/config-set.js";
import { formatError } from "../config/errors.js";
import { loadAndValidate } from "../config/validate.js";
import { buildRegistry } from "../registry/registry.js";
import { parseHostPort } from "../translate/xds/bootstrap.js";
import { buildProxyResources } from "../translate/xds/index.js";
import { METADATA_LABELS, METADATA_WASM_PATH } from "../translate/xds/node.js";
import { dumpAds, type DumpedResources } from "./ads-dump.js";
import { cliArgs, keyValue } from "./args.js";
import { formatTables } from "./proxy-config-table.js";

const USAGE =
  "usage: halyard proxy-config {listeners|routes|clusters|endpoints|all} --node <id> (-f <file|dir>... | --xds <host:port>) [-o short|json|yaml] [--label k=v]... [--meta KEY=VALUE]... [--wasm <path>]";

export const RESOURCE_KINDS = ["listeners", "routes", "clusters", "endpoints"] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

const SCHEMAS: Record<ResourceKind, DescMessage> = {
  listeners: ListenerSchema,
  routes: RouteConfigurationSchema,
  clusters: ClusterSchema,
  endpoints: ClusterLoadAssignmentSchema,
};

export interface ProxyConfigArgs {
  kinds: ResourceKind[];
  nodeId: string;
  paths: string[];
  xds?: { host: string; port: number };
  output: "short" | "json" | "yaml";
  metadata: JsonObject;
}

export function parseProxyConfigArgs(argv: readonly string[]): ProxyConfigArgs | { error: string } {
  const out: Omit<ProxyConfigArgs, "kinds"> & { kinds?: ResourceKind[] } = { nodeId: "", paths: [], output: "short", metadata: {} };
  const labels: Record<string, string> = {};
  let takingPaths = false;
  try {
    for (const { arg, flag, inline, value } of cliArgs(argv)) {
      if (flag === "-f" || flag === "--filename") {
        if (inline !== undefined) out.paths.push(inline);
        else takingPaths = true;
        continue;
      }
      if (flag === "-h" || flag === "--help") return { error: USAGE };
      if (flag.startsWith("-")) takingPaths = false;
      if (flag === "--node") out.nodeId = value();
      else if (flag === "--xds") out.xds = parseHostPort(value(), "--xds");
      else if (flag === "-o" || flag === "--output") {
        const o = value();
        if (o !== "short" && o !== "json" && o !== "yaml") throw new Error(`-o: "${o}" is not one of short, json, yaml`);
        out.output = o;
      } else if (flag === "--label") {
        const [k, v] = keyValue(flag, value());
        labels[k] = v;
      } else if (flag === "--meta") {
        const [k, v] = keyValue(flag, value());
        out.metadata[k] = v;
      } else if (flag === "--wasm") out.metadata[METADATA_WASM_PATH] = value();
      else if (arg.startsWith("-")) return { error: `unknown option ${arg}; ${USAGE}` };
      else if (takingPaths) out.paths.push(arg);
      else if (!out.kinds) {
        if (arg === "all") out.kinds = [...RESOURCE_KINDS];
        else if ((RESOURCE_KINDS as readonly string[]).includes(arg)) out.kinds = [arg as ResourceKind];
        else return { error: `unknown resource type ${JSON.stringify(arg)} (listeners, routes, clusters, endpoints, all); ${USAGE}` };
      } else return { error: `unexpected argument ${JSON.stringify(arg)}; ${USAGE}` };
    }
  } catch (e) {
    return { error: `${(e as Error).message}; ${USAGE}` };
  }
  if (!out.kinds) return { error: `no resource type given; ${USAGE}` };
  if (!out.nodeId) return { error: `--node is required; ${USAGE}` };
  if (out.paths.length === 0 && !out.xds) return { error: `give config files (-f) or a control plane (--xds); ${USAGE}` };
  if (out.paths.length > 0 && out.xds) return { error: `-f and --xds are exclusive; ${USAGE}` };
  if (Object.keys(labels).length > 0) out.metadata[METADATA_LABELS] = labels;
  return out as ProxyConfigArgs;
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const byName = (kind: ResourceKind) => (m: Message) => String((m as unknown as Record<string, unknown>)[kind === "endpoints" ? "clusterName" : "name"]);

/** Resources in name order, so local translation and ADS print the same. */
function sorted(resources: DumpedResources): DumpedResources {
  const out = {} as DumpedResources;
  for (const kind of RESOURCE_KINDS) {
    const name = byName(kind);
    out[kind] = [...resources[kind]].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  }
  return out;
}

export function resourcesAsJson(resources: DumpedResources, kinds: readonly ResourceKind[]): JsonValue {
  const json = (kind: ResourceKind) => resources[kind].map((m) => toJson(SCHEMAS[kind], m, { registry: protoRegistry }));
  if (kinds.length === 1) return json(kinds[0]!);
  const out: JsonObject = {};
  for (const k of kinds) out[k] = json(k);
  return out;
}

export async function runProxyConfig(argv: string[], io: Output): Promise<number> {
  const args = parseProxyConfigArgs(argv);
  if ("error" in args) {
    io.err(`halyard proxy-config: ${args.error}\n`);
    return 1;
  }
  let resources: DumpedResources;
  try {
    resources = await fetchResources(args, io);
  } catch (e) {
    io.err(`halyard proxy-config: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  resources = sorted(resources);
  if (args.output === "json") io.out(`${JSON.stringify(resourcesAsJson(resources, args.kinds), null, 2)}\n`);
  else if (args.output === "yaml") io.out(stringify(resourcesAsJson(resources, args.kinds)));
  else io.out(formatTables(resources, args.kinds));
  return 0;
}

/** Translated locally from the files (config errors printed, undefined returned), or fetched over ADS. */
async function fetchResources(args: ProxyConfigArgs, io: Output): Promise<DumpedResources> {
  let resources: DumpedResources;
  if (args.xds) {
    resources = await dumpAds(`${args.xds.host.includes(":") ? `[${args.xds.host}]` : args.xds.host}:${args.xds.port}`, { id: args.nodeId, metadata: args.metadata });
  } else {
    const { documents, errors } = await loadAndValidate(args.paths);
    if (errors.length > 0) throw new ConfigInvalid(errors.map(formatError));
    const config = buildConfigSet(documents);
    const registry = buildRegistry(config);
    for (const e of registry.issues) io.err(`warning: ${formatError(e)}\n`);
    const built = buildProxyResources(config, registry, { id: args.nodeId, metadata: args.metadata });
    for (const e of built.warnings) io.err(`warning: ${formatError(e)}\n`);
    resources = { listeners: [...built.listeners.values()], routes: [...built.routes.values()], clusters: [...built.clusters.values()], endpoints: [...built.endpoints.values()] };
  }
  return resources;
}

/** The config files have errors: one line each, printed as `halyard validate` prints them. */
class ConfigInvalid extends Error {
  constructor(lines: string[]) {
    super(`config has ${lines.length} error${lines.length === 1 ? "" : "s"}:\n${lines.join("\n")}`);
  }
}

export function run(argv: string[]): Promise<number> {
  return runProxyConfig(argv, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
}
