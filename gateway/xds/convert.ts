// xDS resources -> the gateway's model, through the bootstrap's own rules and converters: the same "not supported
// by halyard gateway" table (supported.ts) and the same builders (build.ts), so a listener means the same whether it
// came from a file or from the control plane. Portable.
import { toJson, type DescMessage, type Message } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { ClusterSchema, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { registry } from "../../gen/registry.js";
import {
  buildCluster, buildEndpoints, buildListener, buildRoutes, edsServiceName, ProblemError,
  type BuildOptions, type RemoteCodeRef,
} from "../bootstrap/build.js";
import { formatPath, type FieldProblem } from "../bootstrap/errors.js";
import type { SecretSource } from "../bootstrap/listener-tls.js";
import { scopedRdsNames } from "../bootstrap/scoped-routes.js";
import { findUnsupported } from "../bootstrap/supported.js";
import type { ClusterConfig, EndpointConfig, ListenerConfig, RouteTableConfig } from "../bootstrap/types.js";

const PREFIX = "type.googleapis.com/";

export type XdsKind = "listeners" | "routes" | "clusters" | "endpoints";

interface KindInfo {
  kind: XdsKind;
  /** How errors name one resource: `listener "x"`. */
  noun: string;
  schema: DescMessage;
  nameOf(m: Message): string;
}

const KINDS: KindInfo[] = [
  { kind: "clusters", noun: "cluster", schema: ClusterSchema, nameOf: (m) => (m as Cluster).name },
  { kind: "endpoints", noun: "cluster load assignment", schema: ClusterLoadAssignmentSchema, nameOf: (m) => (m as ClusterLoadAssignment).clusterName },
  { kind: "listeners", noun: "listener", schema: ListenerSchema, nameOf: (m) => (m as Listener).name },
  { kind: "routes", noun: "route configuration", schema: RouteConfigurationSchema, nameOf: (m) => (m as RouteConfiguration).name },
];

export const TYPE_URLS: Record<XdsKind, string> = Object.fromEntries(KINDS.map((k) => [k.kind, PREFIX + k.schema.typeName])) as Record<XdsKind, string>;

export function kindOfTypeUrl(typeUrl: string): XdsKind | undefined {
  return KINDS.find((k) => PREFIX + k.schema.typeName === typeUrl)?.kind;
}

function info(kind: XdsKind): KindInfo {
  return KINDS.find((k) => k.kind === kind)!;
}

/** A resource the gateway cannot use: the one-line reason it NACKs with. */
export class ResourceError extends Error {
  override name = "ResourceError";
}

/** Thrown by a resolver when what a resource refers to has not arrived yet (Envoy's warming). */
export class Warming extends Error {
  override name = "Warming";
}

export function describe(kind: XdsKind, name: string, problem: FieldProblem): string {
  const where = problem.path.length ? `${formatPath(problem.path)}: ` : "";
  return `${info(kind).noun} "${name}": ${where}${problem.message}`;
}

/** Unpacks the Any resources of one response; every one must be of the response's type and named uniquely. */
export function decodeResources(kind: XdsKind, resources: readonly Any[]): Map<string, Message> {
  const k = info(kind);
  const out = new Map<string, Message>();
  resources.forEach((any, i) => {
    if (any.typeUrl !== PREFIX + k.schema.typeName) throw new ResourceError(`${kind}[${i}]: type ${any.typeUrl} in a ${k.schema.typeName} response`);
    let m: Message | undefined;
    try {
      m = anyUnpack(any, k.schema);
    } catch (e) {
      throw new ResourceError(`${kind}[${i}]: cannot decode: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!m) throw new ResourceError(`${kind}[${i}]: cannot decode`);
    const name = k.nameOf(m);
    if (!name) throw new ResourceError(`${kind}[${i}]: the resource has no name`);
    if (out.has(name)) throw new ResourceError(`${kind}[${i}]: duplicate ${k.noun} "${name}"`);
    out.set(name, m);
  });
  return out;
}

/** Fields halyard does not implement, found by the bootstrap's rule table on the resource's proto JSON. */
export function checkSupported(kind: XdsKind, name: string, m: Message): void {
  const schema = info(kind).schema;
  const json = toJson(schema, m, { registry, useProtoFieldName: true });
  const problem = findUnsupported(schema, json, registry);
  if (problem) throw new ResourceError(describe(kind, name, problem));
}

/** Runs a builder, turning its ProblemError into the resource's one-line ResourceError. */
export function guarded<T>(kind: XdsKind, name: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ProblemError) throw new ResourceError(describe(kind, name, e.problem));
    throw e;
  }
}

export interface Resolvers {
  resolvePath(name: string): string;
  /** Built route tables by RDS name. */
  routes(name: string): RouteTableConfig | undefined;
  endpoints(serviceName: string): EndpointConfig[] | undefined;
  /** Local path of verified remote code, by sha256. */
  code(sha256: string): string | undefined;
  /** Certificates of TLS listeners (SDS secrets by name); without it a TLS listener is rejected. */
  secrets?: SecretSource;
}

function buildOptions(r: Resolvers): BuildOptions {
  return {
    resolvePath: r.resolvePath,
    routes: (name) => r.routes(name) ?? warming(`route configuration "${name}"`),
    edsEndpoints: (svc) => r.endpoints(svc) ?? warming(`endpoints of "${svc}"`),
    remoteCode: (ref) => r.code(ref.sha256) ?? warming(`wasm code ${ref.sha256}`),
    ...(r.secrets ? { secrets: r.secrets } : {}),
  };
}

function warming(what: string): never {
  throw new Warming(what);
}

export function convertCluster(c: Cluster, r: Resolvers): ClusterConfig {
  return guarded("clusters", c.name, () => buildCluster(c, [], buildOptions(r)));
}

export function convertListener(l: Listener, clusterNames: Set<string>, r: Resolvers): ListenerConfig {
  return guarded("listeners", l.name, () => buildListener(l, [], clusterNames, buildOptions(r)));
}

/** validate_clusters is off by default for RDS in Envoy: a route to a cluster not there yet answers 503 (NC). */
export function convertRoutes(rc: RouteConfiguration, clusterNames: Set<string>): RouteTableConfig {
  return guarded("routes", rc.name, () => buildRoutes(rc, [], rc.validateClusters === true ? clusterNames : undefined));
}

export function convertEndpoints(cla: ClusterLoadAssignment): EndpointConfig[] {
  return guarded("endpoints", cla.clusterName, () => buildEndpoints(cla, []));
}

/** Resolvers that accept anything: a resource checked on its own, before what it refers to is known. */
export function isolatedResolvers(resolvePath: (name: string) => string, secrets?: SecretSource): Resolvers {
  return {
    resolvePath,
    routes: (name) => ({ name, virtualHosts: [] }),
    endpoints: () => [],
    code: (sha) => `sha256:${sha}`,
    ...(secrets ? { secrets } : {}),
  };
}

/** The RDS names a listener's HCM refers to (rds, or the scopes of scoped_routes). */
export function rdsNames(l: Listener): string[] {
  const names: string[] = [];
  for (const chain of l.filterChains) {
    for (const f of chain.filters) {
      if (f.configType.case !== "typedConfig") continue;
      const hcm = anyUnpack(f.configType.value, HttpConnectionManagerSchema);
      if (hcm?.routeSpecifier.case === "rds" && hcm.routeSpecifier.value.routeConfigName) names.push(hcm.routeSpecifier.value.routeConfigName);
      else if (hcm?.routeSpecifier.case === "scopedRoutes") names.push(...scopedRdsNames(hcm.routeSpecifier.value));
    }
  }
  return names;
}

export function edsNames(c: Cluster): string[] {
  const n = edsServiceName(c);
  return n === undefined ? [] : [n];
}

/** The remote wasm code a listener's filters name (collected by building it with recording resolvers). */
export function remoteCodeRefs(l: Listener, clusterNames: Set<string>, resolvePath: (name: string) => string, secrets?: SecretSource): RemoteCodeRef[] {
  const refs: RemoteCodeRef[] = [];
  const opts: BuildOptions = {
    resolvePath,
    ...(secrets ? { secrets } : {}),
    routes: (name) => ({ name, virtualHosts: [] }),
    edsEndpoints: () => [],
    remoteCode: (ref) => {
      refs.push(ref);
      return `sha256:${ref.sha256}`;
    },
  };
  guarded("listeners", l.name, () => buildListener(l, [], clusterNames, opts));
  return refs;
}
