// Istio config text for end-to-end tests: an ingress Gateway and a MESH_INTERNAL ServiceEntry (STATIC, port 8080
// named http) with its WorkloadEntries on 127.0.0.1.

/** A Gateway selecting `istio: ingressgateway` with one plain HTTP server for every host. */
export function ingressGatewayYaml(port: number, name = "ingress", namespace = "istio-system"): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${port}, name: http, protocol: HTTP}
    hosts: ["*"]
`;
}

export interface WorkloadSpec {
  name: string;
  port: number;
  /** Labels besides `app: <service>`. */
  labels?: Record<string, string>;
  serviceAccount?: string;
}

/** `<name>.<namespace>.svc.cluster.local:8080`, selecting its workloads by `app: <name>`. */
export function staticServiceYaml(name: string, workloads: WorkloadSpec[], namespace = "default"): string {
  const entries = workloads.map((w) => {
    const labels = Object.entries({ app: name, ...w.labels }).map(([k, v]) => `${k}: ${v}`).join(", ");
    return `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ${w.name}, namespace: ${namespace}}
spec: {address: 127.0.0.1, ports: {http: ${w.port}}, labels: {${labels}}${w.serviceAccount ? `, serviceAccount: ${w.serviceAccount}` : ""}}
`;
  });
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  hosts: [${name}.${namespace}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: ${name}}}
${entries.join("")}`;
}

/** A VirtualService bound to the ingress Gateway, sending every request to `host:port`. */
export function ingressRoutesYaml(host: string, port = 8080, namespace = "default"): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ingress-routes, namespace: ${namespace}}
spec:
  hosts: ["*"]
  gateways: [istio-system/ingress]
  http:
  - route:
    - destination: {host: ${host}, port: {number: ${port}}}
`;
}
