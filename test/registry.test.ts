// The service registry built from real, validated Istio and Kubernetes YAML: ServiceEntries with WorkloadEntries,
// Kubernetes Services with Endpoints, selectors, short names, wildcard hosts, and proxy node ids.
import { describe, expect, test } from "vitest";
import { buildConfigSet } from "../control/config/config-set.js";
import { formatError } from "../control/config/errors.js";
import { parseConfigText } from "../control/config/load.js";
import { validateDocuments } from "../control/config/validate.js";
import { kubernetesPortProtocol, parseProtocol } from "../control/registry/protocol.js";
import { NodeIdError, parseNodeId } from "../control/registry/node.js";
import { buildRegistry, type ServiceRegistry } from "../control/registry/registry.js";

/** Parses and validates YAML (it must be valid: the registry is only ever built from valid config). */
function registryOf(yaml: string): ServiceRegistry {
  const { documents, errors } = parseConfigText(yaml, "test.yaml");
  const all = [...errors, ...validateDocuments(documents)];
  expect(all.map(formatError)).toEqual([]);
  return buildRegistry(buildConfigSet(documents));
}

const VM_SERVICE = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vm-db, namespace: data }
spec:
  hosts: [db.internal.example]
  addresses: [240.0.0.10]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 5432, name: tcp-postgres, protocol: TCP }
  - { number: 8080, name: http-admin, protocol: HTTP, targetPort: 9080 }
  workloadSelector:
    labels: { app: db }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: db-1, namespace: data }
spec:
  address: 10.0.0.1
  labels: { app: db, version: v1 }
  serviceAccount: db-sa
  locality: us-east1/us-east1-b/rack7
  weight: 3
  network: vpc-a
  ports: { tcp-postgres: 15432 }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: db-2, namespace: data }
spec:
  address: 10.0.0.2
  labels: { app: db, version: v2 }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: other-ns, namespace: elsewhere }
spec:
  address: 10.0.0.3
  labels: { app: db }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: not-db, namespace: data }
spec:
  address: 10.0.0.4
  labels: { app: cache }
`;

describe("ServiceEntry + WorkloadEntry", () => {
  test("workloadSelector picks WorkloadEntries by labels in the same namespace; ports resolve per service port", () => {
    const reg = registryOf(VM_SERVICE);
    const svc = reg.byHost("db.internal.example")!;
    expect({ ...svc, endpoints: svc.endpoints.length }).toEqual({
      hostname: "db.internal.example",
      namespace: "data",
      ports: [
        { number: 5432, name: "tcp-postgres", protocol: "TCP" },
        { number: 8080, name: "http-admin", protocol: "HTTP" },
      ],
      location: "MESH_INTERNAL",
      resolution: "STATIC",
      addresses: ["240.0.0.10"],
      exportTo: [],
      workloadSelector: { app: "db" },
      endpoints: 4,
      origin: { kind: "ServiceEntry", namespace: "data", name: "vm-db", file: "test.yaml", line: 2 },
    });
    // db-1 names its own port for tcp-postgres; http-admin falls back to the service's targetPort.
    expect(reg.endpointsFor("db.internal.example", 5432)).toEqual([
      {
        address: "10.0.0.1",
        servicePort: 5432,
        port: 15432,
        labels: {
          app: "db",
          version: "v1",
          "topology.kubernetes.io/region": "us-east1",
          "topology.kubernetes.io/zone": "us-east1-b",
          "topology.istio.io/subzone": "rack7",
          "topology.istio.io/network": "vpc-a",
        },
        serviceAccount: "db-sa",
        locality: { region: "us-east1", zone: "us-east1-b", subzone: "rack7" },
        weight: 3,
        network: "vpc-a",
        workloadName: "db-1",
      },
      {
        address: "10.0.0.2",
        servicePort: 5432,
        port: 5432,
        labels: { app: "db", version: "v2" },
        serviceAccount: "",
        locality: { region: "", zone: "", subzone: "" },
        weight: 1,
        network: "",
        workloadName: "db-2",
      },
    ]);
    expect(reg.endpointsFor("db.internal.example", 8080).map((e) => `${e.address}:${e.port}`)).toEqual(["10.0.0.1:9080", "10.0.0.2:9080"]);
  });

  test("subset labels filter endpoints, topology labels included", () => {
    const reg = registryOf(VM_SERVICE);
    expect(reg.endpointsFor("db.internal.example", 5432, { version: "v2" }).map((e) => e.workloadName)).toEqual(["db-2"]);
    expect(reg.endpointsFor("db.internal.example", 5432, { "topology.kubernetes.io/zone": "us-east1-b" }).map((e) => e.workloadName)).toEqual(["db-1"]);
    expect(reg.endpointsFor("db.internal.example", 5432, { version: "v3" })).toEqual([]);
    expect(reg.endpointsFor("db.internal.example", 9999)).toEqual([]);
    expect(reg.endpointsFor("nope.example", 5432)).toEqual([]);
  });

  test("inline endpoints, DNS resolution of the host itself, wildcard hosts", () => {
    const reg = registryOf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: payments, namespace: shop }
spec:
  hosts: [api.payments.example, api2.payments.example]
  resolution: DNS
  ports: [{ number: 443, name: https, protocol: HTTPS }]
  endpoints:
  - { address: eu.payments.example, locality: eu-west1, labels: { region: eu } }
  - { address: us.payments.example, ports: { https: 8443 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: google, namespace: shop }
spec:
  hosts: [www.google.com]
  resolution: DNS
  ports: [{ number: 80, name: http, protocol: HTTP }, { number: 443, name: tls, protocol: TLS, targetPort: 8443 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: wildcard, namespace: shop }
spec:
  hosts: ["*.example.org", "*.api.example.org"]
  ports: [{ number: 443, name: tls, protocol: TLS }]
`);
    expect(reg.byHost("api2.payments.example")?.origin.name).toBe("payments");
    expect(reg.endpointsFor("api.payments.example", 443).map((e) => `${e.address}:${e.port} ${e.locality.region}`)).toEqual([
      "eu.payments.example:443 eu-west1",
      "us.payments.example:8443 ",
    ]);
    expect(reg.endpointsFor("www.google.com", 443).map((e) => `${e.address}:${e.port}`)).toEqual(["www.google.com:8443"]);
    const google = reg.byHost("www.google.com")!;
    expect([google.location, google.resolution]).toEqual(["MESH_EXTERNAL", "DNS"]);
    // The most specific wildcard wins; wildcards never cover their own bare suffix.
    expect(reg.byHost("v1.api.example.org")?.hostname).toBe("*.api.example.org");
    expect(reg.byHost("docs.example.org")?.hostname).toBe("*.example.org");
    expect(reg.byHost("*.api.example.org")?.hostname).toBe("*.api.example.org");
    expect(reg.byHost("example.org")).toBeUndefined();
    expect(reg.endpointsFor("docs.example.org", 443)).toEqual([]);
  });

  test("exportTo limits which namespaces see a service", () => {
    const reg = registryOf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: private, namespace: team-a }
spec:
  hosts: [private.example]
  exportTo: ["."]
  ports: [{ number: 80, name: http, protocol: HTTP }]
`);
    expect(reg.byHost("private.example", "team-a")?.origin.name).toBe("private");
    expect(reg.byHost("private.example", "team-b")).toBeUndefined();
    expect(reg.byHost("private.example")?.origin.name).toBe("private");
  });

  test("endpoints the registry cannot serve are clear errors on the field", () => {
    const reg = registryOf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: broken, namespace: shop }
spec:
  hosts: [broken.example]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
  - address: not-an-ip.example
  - address: 10.1.1.1
    ports: { htp: 8080 }
  - address: 10.1.1.2
`);
    expect(reg.issues.map(formatError)).toEqual([
      'test.yaml:10: ServiceEntry shop/broken: spec.endpoints[0].address: STATIC resolution needs an IP address or unix:// socket, got "not-an-ip.example"',
      'test.yaml:12: ServiceEntry shop/broken: spec.endpoints[1].ports.htp: endpoint port "htp" is not declared in spec.ports',
    ]);
    expect(reg.endpointsFor("broken.example", 80).map((e) => e.address)).toEqual(["10.1.1.2"]);
  });
});

const K8S = `
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: bookinfo }
spec:
  clusterIP: 10.96.0.20
  selector: { app: reviews }
  ports:
  - { name: http, port: 9080, targetPort: 9080 }
  - { name: grpc-api, port: 9090, targetPort: grpc }
---
apiVersion: v1
kind: Endpoints
metadata: { name: reviews, namespace: bookinfo }
subsets:
- addresses:
  - ip: 10.244.0.5
    targetRef: { kind: Pod, name: reviews-v1-abc, namespace: bookinfo }
  - ip: 10.244.0.6
  notReadyAddresses:
  - ip: 10.244.0.7
  ports:
  - { name: http, port: 9080 }
  - { name: grpc-api, port: 9091 }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: reviews-vm, namespace: bookinfo }
spec:
  address: 10.0.5.5
  labels: { app: reviews, version: v3 }
  serviceAccount: bookinfo-reviews
  ports: { grpc: 7070 }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: reviews-vm-other-ns, namespace: other }
spec:
  address: 10.0.5.6
  labels: { app: reviews }
---
apiVersion: v1
kind: Service
metadata:
  name: ratings
  namespace: bookinfo
  annotations: { networking.istio.io/exportTo: "bookinfo, monitoring" }
spec:
  clusterIP: None
  ports:
  - { name: db, port: 3306 }
  - { name: redis, port: 6379, appProtocol: redis }
  - { name: h2, port: 8081, appProtocol: kubernetes.io/h2c }
  - { name: dns, port: 53, protocol: UDP }
---
apiVersion: v1
kind: Service
metadata: { name: legacy, namespace: bookinfo }
spec:
  type: ExternalName
  externalName: legacy.corp.example
  ports: [{ name: http-web, port: 80 }]
`;

describe("Kubernetes Service + Endpoints", () => {
  test("<name>.<ns>.svc.cluster.local with Endpoints addresses and selected WorkloadEntries", () => {
    const reg = registryOf(K8S);
    const reviews = reg.byHost("reviews.bookinfo.svc.cluster.local")!;
    expect([reviews.location, reviews.resolution, reviews.addresses, reviews.ports]).toEqual([
      "MESH_INTERNAL",
      "STATIC",
      ["10.96.0.20"],
      [
        { number: 9080, name: "http", protocol: "HTTP" },
        { number: 9090, name: "grpc-api", protocol: "GRPC" },
      ],
    ]);
    // WorkloadEntries first (they know more about themselves), then the Endpoints' ready addresses.
    expect(reg.endpointsFor("reviews.bookinfo.svc.cluster.local", 9080).map((e) => `${e.address}:${e.port} ${e.workloadName}`)).toEqual([
      "10.0.5.5:9080 reviews-vm",
      "10.244.0.5:9080 reviews-v1-abc",
      "10.244.0.6:9080 ",
    ]);
    // The named targetPort "grpc" resolves through the WorkloadEntry's own ports.
    expect(reg.endpointsFor("reviews.bookinfo.svc.cluster.local", 9090).map((e) => `${e.address}:${e.port}`)).toEqual(["10.0.5.5:7070", "10.244.0.5:9091", "10.244.0.6:9091"]);
    expect(reg.endpointsFor("reviews.bookinfo.svc.cluster.local", 9080, { version: "v3" }).map((e) => e.serviceAccount)).toEqual(["bookinfo-reviews"]);
    // Endpoints addresses carry what is known of them: the Service's selector.
    expect(reg.endpointsFor("reviews.bookinfo.svc.cluster.local", 9080, { app: "reviews" })).toHaveLength(3);
  });

  test("protocols from port names and appProtocol; headless and ExternalName services; exportTo annotation", () => {
    const reg = registryOf(K8S);
    const ratings = reg.byHost("ratings.bookinfo.svc.cluster.local")!;
    expect(ratings.ports.map((p) => `${p.number} ${p.protocol}`)).toEqual(["3306 TCP", "6379 Redis", "8081 HTTP2", "53 UDP"]);
    expect([ratings.resolution, ratings.addresses, ratings.exportTo]).toEqual(["NONE", [], ["bookinfo", "monitoring"]]);
    expect(reg.byHost("ratings", "monitoring")?.hostname).toBeUndefined();
    expect(reg.byHost("ratings.bookinfo.svc.cluster.local", "monitoring")?.hostname).toBe("ratings.bookinfo.svc.cluster.local");
    expect(reg.byHost("ratings.bookinfo.svc.cluster.local", "default")).toBeUndefined();
    const legacy = reg.byHost("legacy.bookinfo.svc.cluster.local")!;
    expect([legacy.location, legacy.resolution, legacy.ports[0]!.protocol]).toEqual(["MESH_EXTERNAL", "DNS", "HTTP"]);
    expect(legacy.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(["legacy.corp.example:80"]);
  });

  test("protocol detection follows Istio's rules", () => {
    expect(parseProtocol("hTTp")).toBe("HTTP");
    expect(parseProtocol("")).toBe("UnsupportedProtocol");
    const k = (port: number, name: string, l4?: string, app?: string) => kubernetesPortProtocol(port, name, l4, app);
    expect([k(80, "http-web"), k(80, "http2"), k(80, "grpc-web-ui"), k(80, "grpc-web"), k(443, "https-x"), k(443, "tls"), k(80, "tcp-db")]).toEqual([
      "HTTP", "HTTP2", "GRPC-Web", "GRPC-Web", "HTTPS", "TLS", "TCP",
    ]);
    expect([k(8080, "web"), k(8080, ""), k(25, "smtp"), k(27017, ""), k(80, "http", "UDP")]).toEqual(["UnsupportedProtocol", "UnsupportedProtocol", "TCP", "TCP", "UDP"]);
    // appProtocol wins over the name; Kubernetes' standard values map to Istio's.
    expect([k(80, "tcp", undefined, "http"), k(80, "x", undefined, "kubernetes.io/wss"), k(80, "x", undefined, "kubernetes.io/ws")]).toEqual(["HTTP", "HTTPS", "HTTP"]);
  });
});

describe("short names", () => {
  test("resolve against the namespace they are seen from", () => {
    const reg = registryOf(K8S);
    expect(reg.resolveHost("reviews", "foo")).toBe("reviews.foo.svc.cluster.local");
    expect(reg.resolveHost("reviews.bookinfo.svc.cluster.local", "foo")).toBe("reviews.bookinfo.svc.cluster.local");
    expect(reg.resolveHost("*.example.com", "foo")).toBe("*.example.com");
    expect(reg.byHost("reviews", "bookinfo")?.hostname).toBe("reviews.bookinfo.svc.cluster.local");
    expect(reg.byHost("reviews", "foo")).toBeUndefined();
    expect(reg.endpointsFor("reviews", 9080, undefined, "bookinfo")).toHaveLength(3);
  });

  test("the cluster domain is configurable", () => {
    const { documents } = parseConfigText(K8S, "test.yaml");
    const reg = buildRegistry(buildConfigSet(documents), { domainSuffix: "corp.internal" });
    expect(reg.byHost("reviews", "bookinfo")?.hostname).toBe("reviews.bookinfo.svc.corp.internal");
  });
});

describe("proxy node ids", () => {
  test("parse type, ip, workload, namespace and DNS domain", () => {
    expect(parseNodeId("sidecar~10.1.2.3~reviews-v1-abc.bookinfo~bookinfo.svc.cluster.local")).toEqual({
      type: "sidecar",
      ip: "10.1.2.3",
      id: "reviews-v1-abc.bookinfo",
      workloadName: "reviews-v1-abc",
      namespace: "bookinfo",
      dnsDomain: "bookinfo.svc.cluster.local",
    });
    expect(parseNodeId("router~fd00::1~ingress.istio-system~istio-system.svc.cluster.local").ip).toBe("fd00::1");
  });

  test("bad ids are one-line errors naming the id and the problem", () => {
    const error = (id: string) => {
      try {
        parseNodeId(id);
      } catch (e) {
        expect(e).toBeInstanceOf(NodeIdError);
        return (e as Error).message;
      }
      return "no error";
    };
    expect(error("")).toBe('node id "": empty; expected type~ip~name.namespace~dnsDomain');
    expect(error("sidecar~10.0.0.1~a.b")).toBe('node id "sidecar~10.0.0.1~a.b": expected 4 parts separated by "~" (type~ip~name.namespace~dnsDomain), found 3');
    expect(error("gateway~10.0.0.1~a.b~b.svc.cluster.local")).toBe('node id "gateway~10.0.0.1~a.b~b.svc.cluster.local": type "gateway" is not one of sidecar, router');
    expect(error("sidecar~10.0.0.300~a.b~b.svc.cluster.local")).toBe('node id "sidecar~10.0.0.300~a.b~b.svc.cluster.local": "10.0.0.300" is not an IP address');
    expect(error("sidecar~10.0.0.1~reviews~b.svc.cluster.local")).toBe('node id "sidecar~10.0.0.1~reviews~b.svc.cluster.local": "reviews" is not <workload name>.<namespace>');
    expect(error("sidecar~10.0.0.1~a.b~")).toBe('node id "sidecar~10.0.0.1~a.b~": DNS domain is empty');
  });

  test("find the WorkloadEntry and the endpoints a node serves", () => {
    const reg = registryOf(`${VM_SERVICE}\n---\n${K8S}`);
    const byName = reg.proxyFor("sidecar~10.0.0.1~db-1.data~data.svc.cluster.local");
    expect(byName.workloadEntry?.metadata.name).toBe("db-1");
    expect(byName.endpoints.map(({ service, endpoint }) => `${service.hostname}:${endpoint.servicePort}->${endpoint.port}`)).toEqual([
      "db.internal.example:5432->15432",
      "db.internal.example:8080->9080",
    ]);
    // A VM proxy's name rarely matches its WorkloadEntry; its IP in the namespace does.
    const byIp = reg.proxyFor("sidecar~10.0.5.5~vm-host-7.bookinfo~bookinfo.svc.cluster.local");
    expect(byIp.workloadEntry?.metadata.name).toBe("reviews-vm");
    expect(byIp.endpoints.map(({ service, endpoint }) => `${service.hostname}:${endpoint.servicePort}`)).toEqual([
      "reviews.bookinfo.svc.cluster.local:9080",
      "reviews.bookinfo.svc.cluster.local:9090",
    ]);
    const pod = reg.proxyFor("sidecar~10.244.0.5~reviews-v1-abc.bookinfo~bookinfo.svc.cluster.local");
    expect([pod.workloadEntry, pod.endpoints.length]).toEqual([undefined, 2]);
    expect(() => reg.proxyFor("sidecar~nope")).toThrow(NodeIdError);
  });
});
