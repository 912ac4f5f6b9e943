// `halyard x check`: what would the mesh do with this request? Loads and validates Istio config, translates it
// for one proxy (a sidecar in --from's namespace with --labels, or --gateway's proxy), runs the real
// halyard.wasm filters on the request with no upstream, and prints what they decided; with --samples, counts the
// outcomes of N independent requests.
//
// Which filters, on which proxy:
// - --gateway: the gateway proxy runs halyard.jwt → halyard.authz (the RequestAuthentications and
//   AuthorizationPolicies its labels select) → halyard.fault → halyard.route. Its callers are external: they
//   present no peer certificate unless --from-principal (or an explicit --from) says so.
// - a sidecar caller: its outbound side runs halyard.fault → halyard.route; the route's cluster names the
//   destination, and the destination workload's inbound side runs halyard.jwt → halyard.authz with its own
//   policies. The destination workload is the cluster's service (resolved through the registry, so a
//   VirtualService sending the request elsewhere is followed): its namespace, and the labels of its first endpoint
//   for that port and subset (else the service's selector plus the subset's labels); its port is that endpoint's
//   target port. PassthroughCluster, MESH_EXTERNAL services and unknown hosts have no inbound policies. The caller
//   presents `cluster.local/ns/<--from ns>/sa/<--from sa>` (or --from-principal) over mTLS, from --source-ip.
// jwksUri documents are fetched once (10 s timeout); a failed fetch rejects that issuer's tokens, as istiod does.
import { fileURLToPath } from "node:url";
import { buildConfigSet } from "../config/config-set.js";
import { formatError } from "../config/errors.js";
import { loadAndValidate } from "../config/validate.js";
import type { ConfigSet } from "../config/config-set.js";
import { selectorMatches } from "../registry/labels.js";
import { buildRegistry, type ServiceRegistry } from "../registry/registry.js";
import type { ClusterRef } from "../translate/destinations.js";
import { JwksResolver } from "../translate/jwks.js";
import { gatewayProxy, ProxyError, sidecarProxy, type Proxy } from "../translate/proxy.js";
import { routeConfigForPort, translateRoutes } from "../translate/routes.js";
import { configJwksSources, translateSecurity } from "../translate/security.js";
import { parseXCheckArgs, type XCheckArgs } from "./xcheck-args.js";
import { FilterChain, FilterChainError, type RunPlan, type SecurityStage } from "./xcheck-chain.js";
import { checkResult, formatResult, formatSummary, responseRemovals, SampleCounter } from "./xcheck-report.js";

const PREFIX = "halyard x check";
const WASM_FILE = fileURLToPath(new URL("../../../wasm/build/halyard.wasm", import.meta.url));
/** Requests in flight at once in --samples mode (delayed ones wait for the filter's next tick). */
const SAMPLE_BATCH = 250;

function fail(message: string): number {
  process.stderr.write(`${PREFIX}: ${message}\n`);
  return 1;
}

/** The security filters' configurations for one proxy; undefined when neither applies. */
function securityStage(config: ConfigSet, proxy: Proxy, jwks: JwksResolver, port?: number): SecurityStage | undefined {
  const t = translateSecurity(config, proxy, { jwks });
  for (const w of t.warnings) process.stderr.write(`warning: ${formatError(w)}\n`);
  if (!t.jwt && !t.authz) return undefined;
  return { ...(t.jwt ? { jwt: JSON.stringify(t.jwt) } : {}), ...(t.authz ? { authz: JSON.stringify(t.authz) } : {}), ...(port !== undefined ? { port } : {}) };
}

/**
 * The destination workload of `cluster` (see the header): its proxy and the port it listens on, or undefined
 * when the cluster reaches no mesh workload.
 */
function destinationOf(cluster: ClusterRef | undefined, registry: ServiceRegistry): { proxy: Proxy; port: number } | undefined {
  if (!cluster || !cluster.host || !cluster.serviceFound) return undefined;
  const service = registry.byHost(cluster.host);
  if (!service || service.location === "MESH_EXTERNAL") return undefined;
  const subset = cluster.subsetLabels ?? {};
  const endpoint = service.endpoints.find((e) => e.servicePort === cluster.port && selectorMatches(subset, e.labels));
  const labels = endpoint ? endpoint.labels : { ...service.workloadSelector, ...subset };
  return { proxy: sidecarProxy(service.namespace, labels), port: endpoint?.port ?? cluster.port };
}

function describeProxy(proxy: Proxy, args: XCheckArgs): string {
  return proxy.kind === "sidecar" ? `sidecar in namespace ${proxy.namespace} (${args.namespace}/${args.serviceAccount})` : `gateway ${args.gateway}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseXCheckArgs(argv);
  if ("error" in args) return fail(args.error);

  const { documents, errors } = await loadAndValidate(args.paths);
  if (errors.length > 0) {
    process.stderr.write(errors.map((e) => formatError(e) + "\n").join(""));
    return 1;
  }
  if (documents.length === 0) return fail(`no documents found in ${args.paths.join(", ")}`);
  const config = buildConfigSet(documents);
  const registry = buildRegistry(config);

  let proxy: Proxy;
  try {
    proxy = args.gateway !== undefined ? gatewayProxy(config, args.gateway, args.labels) : sidecarProxy(args.namespace, args.labels);
  } catch (e) {
    if (e instanceof ProxyError) return fail(e.message);
    throw e;
  }
  const translation = translateRoutes(config, proxy, { registry });
  const port = args.request.port;
  const routeConfig = routeConfigForPort(translation, port);
  if (!routeConfig) {
    const have = translation.routeConfigs.map((c) => c.port).join(", ") || "none";
    return fail(`the ${describeProxy(proxy, args)} has no HTTP routes on port ${port} (HTTP ports: ${have})`);
  }
  for (const w of [...registry.issues, ...translation.warnings]) process.stderr.write(`warning: ${formatError(w)}\n`);

  const jwks = new JwksResolver({ refreshIntervalMs: 0, log: (line) => process.stderr.write(`${line}\n`) });
  await jwks.resolve(configJwksSources(config));
  const plan: RunPlan = { caller: { sourceIp: args.sourceIp, ...(args.principal !== undefined ? { principal: args.principal } : {}) } };
  if (proxy.kind === "gateway") {
    const front = securityStage(config, proxy, jwks);
    if (front) plan.front = front;
  } else {
    const clusters = new Map(translation.clusters.map((c) => [c.name, c]));
    const stages = new Map<string, SecurityStage | undefined>();
    plan.inbound = (name) => {
      if (!stages.has(name)) {
        const destination = destinationOf(clusters.get(name), registry);
        stages.set(name, destination && securityStage(config, destination.proxy, jwks, destination.port));
      }
      return stages.get(name);
    };
  }

  let chain: FilterChain;
  try {
    chain = await FilterChain.load(WASM_FILE, JSON.stringify(routeConfig));
  } catch (e) {
    if (e instanceof FilterChainError) return fail(e.message);
    throw e;
  }
  try {
    const probe = responseRemovals(routeConfig);
    if (args.samples === undefined) {
      const result = checkResult(await chain.run(args.request, probe, plan), routeConfig);
      process.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : formatResult(result));
      return 0;
    }
    const counter = new SampleCounter();
    for (let done = 0; done < args.samples; ) {
      const n = Math.min(SAMPLE_BATCH, args.samples - done);
      const batch = await Promise.all(Array.from({ length: n }, () => chain.run(args.request, null, plan)));
      for (const obs of batch) counter.add(checkResult(obs, routeConfig));
      done += n;
    }
    process.stdout.write(args.json ? `${JSON.stringify(counter.summary, null, 2)}\n` : formatSummary(counter.summary));
    return 0;
  } catch (e) {
    // A security filter refusing its translated configuration (loaded on first use).
    if (e instanceof FilterChainError) return fail(e.message);
    throw e;
  } finally {
    jwks.close();
    await chain.close();
  }
}
