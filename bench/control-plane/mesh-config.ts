// A synthetic mesh for control-plane scale runs: `services` ServiceEntry-based services spread over `namespaces`
// namespaces, each with two WorkloadEntries (v1, v2 — the sidecars that connect), a DestinationRule with subsets
// v1/v2 and a VirtualService splitting 90/10. One file per service, so a weight change rewrites one file.
// Every address is on 127.0.0.0/8 and nothing is ever dialed.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface MeshShape {
  services: number;
  namespaces: number;
}

export interface MeshProxy {
  /** Istio sidecar node id: sidecar~<ip>~app-<i>.<ns>~<ns>.svc.cluster.local */
  nodeId: string;
  namespace: string;
  /** Index of the service this workload serves. */
  service: number;
}

export interface MeshService {
  index: number;
  name: string;
  namespace: string;
  host: string;
  port: number;
  file: string;
}

const PORTS = [8080, 9080, 80] as const;
const pad = (n: number) => String(n).padStart(4, "0");

export function namespaceOf(service: number, shape: MeshShape): string {
  return `ns-${String(service % shape.namespaces).padStart(2, "0")}`;
}

export function meshService(dir: string, index: number, shape: MeshShape): MeshService {
  const namespace = namespaceOf(index, shape);
  const name = `svc-${pad(index)}`;
  return { index, name, namespace, host: `${name}.${namespace}.svc.cluster.local`, port: PORTS[index % PORTS.length]!, file: join(dir, namespace, `${name}.yaml`) };
}

/** Workload `w` (2 per service: v1 then v2) at 127.0.<1 + w/250>.<1 + w%250>: unique, so inbound config is its own. */
export function workloadAddress(workload: number): string {
  return `127.0.${1 + Math.floor(workload / 250)}.${1 + (workload % 250)}`;
}

export function meshProxies(shape: MeshShape): MeshProxy[] {
  const out: MeshProxy[] = [];
  for (let w = 0; w < shape.services * 2; w++) {
    const service = Math.floor(w / 2);
    const namespace = namespaceOf(service, shape);
    out.push({ nodeId: `sidecar~${workloadAddress(w)}~app-${pad(w)}.${namespace}~${namespace}.svc.cluster.local`, namespace, service });
  }
  return out;
}

function serviceYaml(s: MeshService, weights: readonly [number, number]): string {
  const workloads = [0, 1]
    .map(
      (v) => `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: app-${pad(s.index * 2 + v)}
  namespace: ${s.namespace}
spec:
  address: ${workloadAddress(s.index * 2 + v)}
  labels:
    app: ${s.name}
    version: v${v + 1}
  serviceAccount: ${s.name}
`,
    )
    .join("");
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${s.name}
  namespace: ${s.namespace}
spec:
  hosts: [${s.host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: ${s.port}
    name: http
    protocol: HTTP
  workloadSelector:
    labels:
      app: ${s.name}
${workloads}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ${s.name}
  namespace: ${s.namespace}
spec:
  host: ${s.host}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${s.name}
  namespace: ${s.namespace}
spec:
  hosts: [${s.host}]
  http:
  - name: split
    route:
    - destination: {host: ${s.host}, subset: v1}
      weight: ${weights[0]}
    - destination: {host: ${s.host}, subset: v2}
      weight: ${weights[1]}
`;
}

/** Writes the mesh under `dir` (one directory per namespace, one file per service). */
export function writeMeshConfig(dir: string, shape: MeshShape): MeshService[] {
  const services: MeshService[] = [];
  for (let i = 0; i < shape.services; i++) {
    const s = meshService(dir, i, shape);
    mkdirSync(join(dir, s.namespace), { recursive: true });
    writeFileSync(s.file, serviceYaml(s, [90, 10]));
    services.push(s);
  }
  return services;
}

/** Rewrites one service's file with a new v1/v2 split (the config change whose propagation is measured). */
export function setWeights(service: MeshService, weights: readonly [number, number]): void {
  writeFileSync(service.file, serviceYaml(service, weights));
}
