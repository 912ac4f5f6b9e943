// DestinationRule checks Istio makes in Go (pkg/config/validation: ValidateDestinationRule, validateTrafficPolicy).
import type { FieldPath, Issue } from "../errors.js";
import type { ConfigDocument } from "../load.js";
import { arr, isDNS1123Label, Issues, num, obj, str, validateDuration, validateLabels, validatePort, validateWildcardDomain, type Obj } from "./common.js";
import { checkExportTo } from "./virtualservice.js";

export function checkDestinationRule(doc: ConfigDocument): Issue[] {
  const spec = obj(doc.object.spec) ?? {};
  const issues = new Issues();
  issues.add(["spec", "host"], validateWildcardDomain(str(spec.host)));
  if (spec.trafficPolicy !== undefined) checkTrafficPolicy(obj(spec.trafficPolicy) ?? {}, ["spec", "trafficPolicy"], issues);
  const names = new Set<string>();
  arr(spec.subsets).forEach((s, i) => {
    const subset = obj(s);
    const path: FieldPath = ["spec", "subsets", i];
    if (!subset) return issues.add(path, "subset must not be null");
    const name = str(subset.name);
    if (name === "") issues.add([...path, "name"], "subset name must not be empty");
    else if (!isDNS1123Label(name)) issues.add([...path, "name"], `invalid subset name ${JSON.stringify(name)}: must be a DNS label`);
    else if (names.has(name)) issues.add([...path, "name"], `duplicate subset name ${JSON.stringify(name)}`);
    names.add(name);
    issues.add([...path, "labels"], validateLabels(subset.labels));
    if (subset.trafficPolicy !== undefined) checkTrafficPolicy(obj(subset.trafficPolicy) ?? {}, [...path, "trafficPolicy"], issues);
  });
  checkExportTo(arr(spec.exportTo).map(str), doc.namespace, ["spec", "exportTo"], issues);
  return issues.list;
}

function checkTrafficPolicy(p: Obj, path: FieldPath, issues: Issues): void {
  const fields = ["outlierDetection", "connectionPool", "loadBalancer", "tls", "portLevelSettings", "tunnel", "proxyProtocol", "retryBudget"];
  if (!fields.some((f) => p[f] !== undefined)) return issues.add(path, "traffic policy must have at least one field");
  if (p.tunnel !== undefined && p.proxyProtocol !== undefined) issues.add(path, "tunnel and proxyProtocol must not be set together");
  checkPortPolicy(p, path, issues);
  arr(p.portLevelSettings).forEach((s, i) => {
    const pl = obj(s) ?? {};
    const pp: FieldPath = [...path, "portLevelSettings", i];
    const port = obj(pl.port);
    if (!port) issues.add([...pp, "port"], "port level settings need a port");
    else issues.add([...pp, "port", "number"], validatePort(num(port.number)));
    if (!["outlierDetection", "connectionPool", "loadBalancer", "tls"].some((f) => pl[f] !== undefined)) issues.add(pp, "port traffic policy must have at least one field");
    checkPortPolicy(pl, pp, issues);
  });
  const tunnel = obj(p.tunnel);
  if (tunnel) {
    const protocol = str(tunnel.protocol);
    if (protocol && protocol !== "CONNECT" && protocol !== "POST") issues.add([...path, "tunnel", "protocol"], 'tunnel protocol must be "CONNECT" or "POST"');
    issues.add([...path, "tunnel", "targetPort"], validatePort(num(tunnel.targetPort)));
  }
  const proxyProtocol = obj(p.proxyProtocol);
  if (proxyProtocol && proxyProtocol.version !== undefined && !["V1", "V2"].includes(str(proxyProtocol.version))) {
    issues.add([...path, "proxyProtocol", "version"], "proxy protocol version must be V1 or V2");
  }
}

/** The parts shared by a traffic policy and its per-port overrides. */
function checkPortPolicy(p: Obj, path: FieldPath, issues: Issues): void {
  const outlier = obj(p.outlierDetection);
  if (outlier) checkOutlier(outlier, [...path, "outlierDetection"], issues);
  const pool = obj(p.connectionPool);
  if (pool) checkConnectionPool(pool, [...path, "connectionPool"], issues);
  const lb = obj(p.loadBalancer);
  if (lb) checkLoadBalancer(lb, [...path, "loadBalancer"], issues);
}

function checkOutlier(o: Obj, path: FieldPath, issues: Issues): void {
  for (const k of ["baseEjectionTime", "interval"]) if (o[k] !== undefined) issues.add([...path, k], validateDuration(str(o[k])));
  if (!o.splitExternalLocalOriginErrors && num(o.consecutiveLocalOriginFailures) > 0) {
    issues.add([...path, "consecutiveLocalOriginFailures"], "consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors: true");
  }
  for (const k of ["maxEjectionPercent", "minHealthPercent"]) {
    const v = num(o[k]);
    if (o[k] !== undefined && (v < 0 || v > 100)) issues.add([...path, k], `${k} ${v} must be in the range 0..100`);
  }
}

function checkConnectionPool(c: Obj, path: FieldPath, issues: Issues): void {
  const http = obj(c.http);
  const tcp = obj(c.tcp);
  if (!http && !tcp) return issues.add(path, "connection pool must have http or tcp settings");
  const nonNegative = (o: Obj, base: FieldPath, keys: string[]) => {
    for (const k of keys) if (num(o[k]) < 0) issues.add([...base, k], `${k} must not be negative`);
  };
  if (http) {
    const p = [...path, "http"];
    nonNegative(http, p, ["http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection", "maxRetries", "maxConcurrentStreams"]);
    if (http.idleTimeout !== undefined) issues.add([...p, "idleTimeout"], validateDuration(str(http.idleTimeout)));
    if (http.h2UpgradePolicy === "UPGRADE" && http.useClientProtocol === true) issues.add([...p, "useClientProtocol"], "useClientProtocol must not be true when h2UpgradePolicy is UPGRADE");
  }
  if (tcp) {
    const p = [...path, "tcp"];
    nonNegative(tcp, p, ["maxConnections"]);
    for (const k of ["connectTimeout", "maxConnectionDuration", "idleTimeout"]) if (tcp[k] !== undefined) issues.add([...p, k], validateDuration(str(tcp[k])));
    const ka = obj(tcp.tcpKeepalive);
    if (ka) for (const k of ["time", "interval"]) if (ka[k] !== undefined) issues.add([...p, "tcpKeepalive", k], validateDuration(str(ka[k])));
  }
}

function checkLoadBalancer(lb: Obj, path: FieldPath, issues: Issues): void {
  const ch = obj(lb.consistentHash);
  if (ch) {
    const p = [...path, "consistentHash"];
    const cookie = obj(ch.httpCookie);
    if (cookie && str(cookie.name) === "") issues.add([...p, "httpCookie", "name"], "httpCookie needs a name");
    if (num(ch.minimumRingSize) !== 0 && (ch.ringHash !== undefined || ch.maglev !== undefined)) {
      issues.add([...p, "minimumRingSize"], "only one of minimumRingSize or ringHash/maglev may be set");
    }
    const maglev = obj(ch.maglev);
    if (maglev) {
      const size = num(maglev.tableSize);
      if (size === 0) issues.add([...p, "maglev", "tableSize"], "tableSize must be set for maglev");
      else if (size >= 5000011) issues.add([...p, "maglev", "tableSize"], "tableSize must be less than 5000011 for maglev");
      else if (!isPrime(size)) issues.add([...p, "maglev", "tableSize"], "tableSize must be a prime number for maglev");
    }
  }
  const locality = obj(lb.localityLbSetting);
  if (locality) {
    const p = [...path, "localityLbSetting"];
    if (arr(locality.distribute).length && arr(locality.failover).length) issues.add(p, "only one of distribute or failover may be set");
    arr(locality.distribute).forEach((d, i) => {
      const to = obj(obj(d)?.to) ?? {};
      const total = Object.values(to).reduce<number>((sum, w) => sum + num(w), 0);
      if (total !== 100) issues.add([...p, "distribute", i, "to"], `weights must add up to 100 (they add up to ${total})`);
    });
  }
  if (lb.warmupDurationSecs !== undefined) issues.add([...path, "warmupDurationSecs"], validateDuration(str(lb.warmupDurationSecs)));
}

function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  for (let f = 3; f * f <= x; f += 2) if (x % f === 0) return false;
  return true;
}
