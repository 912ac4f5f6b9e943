// `halyard x check`: what would the mesh do with this request? Loads and validates Istio config, translates it
// for one proxy (a sidecar in --from's namespace with --labels, or --gateway's proxy), runs the real
// halyard.wasm filters (halyard.fault, then halyard.route) on the request with no upstream, and prints what they
// decided; with --samples, counts the outcomes of N independent requests.
import { fileURLToPath } from "node:url";
import { buildConfigSet } from "../config/config-set.js";
import { formatError } from "../config/errors.js";
import { loadAndValidate } from "../config/validate.js";
import { buildRegistry } from "../registry/registry.js";
import { gatewayProxy, ProxyError, sidecarProxy, type Proxy } from "../translate/proxy.js";
import { routeConfigForPort, translateRoutes } from "../translate/routes.js";
import { parseXCheckArgs, type XCheckArgs } from "./xcheck-args.js";
import { FilterChain, FilterChainError } from "./xcheck-chain.js";
import { checkResult, formatResult, formatSummary, responseRemovals, SampleCounter } from "./xcheck-report.js";

const PREFIX = "halyard x check";
const WASM_FILE = fileURLToPath(new URL("../../../wasm/build/halyard.wasm", import.meta.url));
/** Requests in flight at once in --samples mode (delayed ones wait for the filter's next tick). */
const SAMPLE_BATCH = 250;

function fail(message: string): number {
  process.stderr.write(`${PREFIX}: ${message}\n`);
  return 1;
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
      const result = checkResult(await chain.run(args.request, probe), routeConfig);
      process.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : formatResult(result));
      return 0;
    }
    const counter = new SampleCounter();
    for (let done = 0; done < args.samples; ) {
      const n = Math.min(SAMPLE_BATCH, args.samples - done);
      const batch = await Promise.all(Array.from({ length: n }, () => chain.run(args.request, null)));
      for (const obs of batch) counter.add(checkResult(obs, routeConfig));
      done += n;
    }
    process.stdout.write(args.json ? `${JSON.stringify(counter.summary, null, 2)}\n` : formatSummary(counter.summary));
    return 0;
  } finally {
    await chain.close();
  }
}
