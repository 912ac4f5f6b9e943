// The service registry's model: services by host name, each with its ports and the endpoints serving them, in
// the shape Istio's own registry has after it merges Kubernetes Services and ServiceEntries.

export type Location = "MESH_EXTERNAL" | "MESH_INTERNAL";
export type Resolution = "NONE" | "STATIC" | "DNS" | "DNS_ROUND_ROBIN";

/** Istio's protocol names (pkg/config/protocol), as Envoy config and Istio's status report them. */
export type Protocol =
  | "TCP"
  | "UDP"
  | "GRPC"
  | "GRPC-Web"
  | "HTTP"
  | "HTTP_PROXY"
  | "HTTP2"
  | "HTTPS"
  | "TLS"
  | "Mongo"
  | "Redis"
  | "MySQL"
  /** Not declared: the proxy sniffs the protocol. */
  | "UnsupportedProtocol";

export interface ServicePort {
  number: number;
  name: string;
  protocol: Protocol;
}

export interface Locality {
  region: string;
  zone: string;
  subzone: string;
}

/** One workload instance serving one port of a service. */
export interface ServiceEndpoint {
  address: string;
  /** The service port this endpoint serves. */
  servicePort: number;
  /** The port to connect to on `address`: the service port's target port for this workload. */
  port: number;
  labels: Record<string, string>;
  serviceAccount: string;
  locality: Locality;
  /** Load-balancing weight; 1 (Envoy's default) when the workload gives none. */
  weight: number;
  network: string;
  /** WorkloadEntry name, or the Endpoints address's targetRef name; "" for inline ServiceEntry endpoints. */
  workloadName: string;
}

/** Where a service came from, for messages. */
export interface ServiceOrigin {
  kind: "ServiceEntry" | "Service";
  namespace: string;
  name: string;
  file: string;
  line: number;
}

export interface RegistryService {
  /** FQDN, or a wildcard host (`*.example.com`) from a ServiceEntry. */
  hostname: string;
  namespace: string;
  ports: ServicePort[];
  location: Location;
  resolution: Resolution;
  /** Virtual IPs / CIDRs: ServiceEntry addresses, or a Kubernetes Service's clusterIP. */
  addresses: string[];
  /** Namespaces the service is visible to: `*` for all, `.` for its own; empty means all. */
  exportTo: string[];
  /** For a ServiceEntry with a workloadSelector (or a Kubernetes Service with a selector): its labels. */
  workloadSelector: Record<string, string>;
  endpoints: ServiceEndpoint[];
  origin: ServiceOrigin;
}
