// Sidecar checks Istio makes in Go (pkg/config/validation: ValidateSidecar).
import { isIP } from "node:net";
import type { FieldPath, Issue } from "../errors.js";
import type { ConfigDocument } from "../load.js";
import { arr, isDNS1123Label, Issues, num, obj, protocolFamily, str, validateLabels, validateNamespaceSlashHost, validatePort, type Obj } from "./common.js";

const LOCAL_HOSTS = new Set(["127.0.0.1", "0.0.0.0", "::1", "::", ""]);

export function checkSidecar(doc: ConfigDocument): Issue[] {
  const spec = obj(doc.object.spec) ?? {};
  const issues = new Issues();
  issues.add(["spec", "workloadSelector", "labels"], validateLabels(obj(spec.workloadSelector)?.labels));
  if (!arr(spec.egress).length && !arr(spec.ingress).length && spec.outboundTrafficPolicy === undefined && spec.inboundConnectionPool === undefined) {
    issues.add(["spec"], "empty Sidecar: set at least one of egress, ingress, outboundTrafficPolicy or inboundConnectionPool");
  }

  const ingressPorts = new Set<number>();
  arr(spec.ingress).forEach((l, i) => {
    const listener = obj(l) ?? {};
    const path: FieldPath = ["spec", "ingress", i];
    const port = obj(listener.port);
    if (!port) return issues.add([...path, "port"], "ingress listeners need a port");
    checkPort(port, [...path, "port"], issues);
    if (ingressPorts.has(num(port.number))) issues.add([...path, "port", "number"], `port ${num(port.number)} is used by another ingress listener`);
    ingressPorts.add(num(port.number));
    const endpoint = str(listener.defaultEndpoint);
    if (endpoint) issues.add([...path, "defaultEndpoint"], validateDefaultEndpoint(endpoint));
  });

  const egressPorts = new Set<number>();
  const egress = arr(spec.egress);
  egress.forEach((l, i) => {
    const listener = obj(l) ?? {};
    const path: FieldPath = ["spec", "egress", i];
    const port = obj(listener.port);
    if (!port && i !== egress.length - 1) issues.add(path, "the egress listener without a port must be the last one");
    if (port) {
      checkPort(port, [...path, "port"], issues);
      const n = num(port.number);
      if (n !== 0 && egressPorts.has(n)) issues.add([...path, "port", "number"], `port ${n} is used by another egress listener`);
      egressPorts.add(n);
    }
    const hosts = arr(listener.hosts).map(str);
    if (!hosts.length) issues.add([...path, "hosts"], "egress listeners need at least one host");
    hosts.forEach((h, j) => issues.add([...path, "hosts", j], validateNamespaceSlashHost(h, false)));
  });
  return issues.list;
}

function checkPort(port: Obj, path: FieldPath, issues: Issues): void {
  const name = str(port.name);
  if (name && !isDNS1123Label(name)) issues.add([...path, "name"], `invalid port name ${JSON.stringify(name)}`);
  const protocol = str(port.protocol);
  if (protocol && !protocolFamily(protocol)) issues.add([...path, "protocol"], `unsupported protocol ${JSON.stringify(protocol)}`);
  if (num(port.number) !== 0) issues.add([...path, "number"], validatePort(num(port.number)));
}

function validateDefaultEndpoint(endpoint: string): string | undefined {
  if (endpoint.startsWith("unix://")) {
    const sock = endpoint.slice("unix://".length);
    return sock.startsWith("@") || (sock.startsWith("/") && !sock.endsWith("/")) ? undefined : `${JSON.stringify(endpoint)} is not an absolute socket path or abstract socket`;
  }
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(endpoint);
  const host = m ? (m[1] ?? m[2] ?? "") : undefined;
  if (host === undefined || (host !== "" && !isIP(host)) || !LOCAL_HOSTS.has(host)) {
    return "defaultEndpoint must be 127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:<port>, [::]:<port>, :<port> or unix://<path>";
  }
  return validatePort(Number(m![3]));
}
