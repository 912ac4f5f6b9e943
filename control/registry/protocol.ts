// Protocol of a service port, as Istio derives it: a ServiceEntry states it; a Kubernetes Service port gets it
// from appProtocol, else from the port name's prefix (`http-web`, `grpc`, `tcp-db`), else it is sniffed.
import type { Protocol } from "./types.js";

const BY_NAME: Record<string, Protocol> = {
  tcp: "TCP",
  udp: "UDP",
  grpc: "GRPC",
  "grpc-web": "GRPC-Web",
  http: "HTTP",
  http_proxy: "HTTP_PROXY",
  http2: "HTTP2",
  https: "HTTPS",
  tls: "TLS",
  mongo: "Mongo",
  redis: "Redis",
  mysql: "MySQL",
};

/** Istio's protocol.Parse: case-insensitive; anything else is left to sniffing. */
export function parseProtocol(name: string): Protocol {
  return BY_NAME[name.toLowerCase()] ?? "UnsupportedProtocol";
}

// Server-first protocols where sniffing would hang the connection; Istio treats them as TCP when undeclared.
const WELL_KNOWN_TCP_PORTS = new Set([25 /* SMTP */, 53 /* DNS */, 3306 /* MySQL */, 27017 /* MongoDB */]);

// Kubernetes' standard appProtocol values (core/v1 ServicePort.appProtocol).
const KUBERNETES_APP_PROTOCOLS: Record<string, Protocol> = {
  "kubernetes.io/h2c": "HTTP2",
  "kubernetes.io/ws": "HTTP",
  "kubernetes.io/wss": "HTTPS",
};

/** Protocol of a Kubernetes Service port (Istio's kube.ConvertProtocol). */
export function kubernetesPortProtocol(port: number, portName: string, l4Protocol: string | undefined, appProtocol: string | undefined): Protocol {
  if (l4Protocol === "UDP") return "UDP";
  let name = portName;
  if (appProtocol !== undefined) {
    const standard = KUBERNETES_APP_PROTOCOLS[appProtocol];
    if (standard) return standard;
    name = appProtocol;
  }
  // `grpc-web` carries a dash, so it is checked before the prefix is cut at the first one.
  if (name.toLowerCase().startsWith("grpc-web")) return "GRPC-Web";
  const dash = name.indexOf("-");
  const detected = parseProtocol(dash < 0 ? name : name.slice(0, dash));
  if (detected === "UnsupportedProtocol" && WELL_KNOWN_TCP_PORTS.has(port)) return "TCP";
  return detected;
}
