// engine/route — Istio HTTP routing (VirtualService semantics as Envoy executes them) as pure
// functions over a precomputed table. No I/O, no ABI; the halyard.route / halyard.fault filters
// call it. Configuration format: engine/route/CONFIG.md.
//
//   decodeRouteConfig(json: ArrayBuffer): RouteConfigResult      UTF-8 JSON -> { ok, table, error }
//   decodeRouteConfigString(json: string) / decodeRouteConfigValue(v: JsonValue)
//   new Request(method, scheme, authority, path, port).addHeader(lowerName, value)
//   decodeScopeRoutes(json: ArrayBuffer, name, scope): ScopeRoutesResult   one scope's routes -> { ok, host, error }
//   selectVirtualHost(table, authority) / decideInVirtualHost(vh, request, rng, reused)   (scoped configurations)
//   decide(table, request, rng: RandomSource): Decision
//   decideInto(table, request, rng, reused: Decision): Decision   (no Decision allocation)
//   new RandomSource(seed: u64) — SplitMix64; subclass and override next() for another source.
export {
  RouteConfigResult, ScopeRoutesResult, decodeRouteConfig, decodeRouteConfigString, decodeRouteConfigValue,
  decodeScopeRoutes, decodeScopeRoutesString, decodeScopeRoutesValue,
} from "./decode";
export { Decision, DecisionKind, decisionKindName } from "./decision";
export { decide, decideInto, decideInVirtualHost } from "./decide";
export { HeaderOps, RetryPolicy, RouteTable, VirtualHost } from "./config";
export { selectVirtualHost } from "./vhost";
export { RandomSource } from "./random";
export { Request } from "./request";
