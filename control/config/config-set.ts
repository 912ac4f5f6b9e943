// A validated set of config documents with typed accessors per kind.
import type { ConfigDocument } from "./load.js";
import type {
  AuthorizationPolicy,
  DestinationRule,
  Gateway,
  KubernetesEndpoints,
  KubernetesService,
  ObjectMeta,
  PeerAuthentication,
  RequestAuthentication,
  Resource,
  ServiceEntry,
  Sidecar,
  VirtualService,
  WorkloadEntry,
} from "./types.js";

export interface ConfigSet {
  /** Every document, in load order (includes kinds without a typed accessor, e.g. EnvoyFilter, Telemetry). */
  readonly documents: readonly ConfigDocument[];
  readonly virtualServices: readonly VirtualService[];
  readonly destinationRules: readonly DestinationRule[];
  readonly gateways: readonly Gateway[];
  readonly serviceEntries: readonly ServiceEntry[];
  readonly workloadEntries: readonly WorkloadEntry[];
  readonly sidecars: readonly Sidecar[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
  readonly requestAuthentications: readonly RequestAuthentication[];
  readonly services: readonly KubernetesService[];
  readonly endpoints: readonly KubernetesEndpoints[];
}

function metadataOf(doc: ConfigDocument): ObjectMeta {
  const md = (doc.object.metadata ?? {}) as Record<string, unknown>;
  return { ...md, name: doc.name, namespace: doc.namespace } as ObjectMeta;
}

/**
 * The typed resource of each document, kept as long as the document is: a reload re-parses only changed files
 * (ParseCache), so an unchanged document is the same object in every later set, and so is its resource. The
 * translator relies on that identity to re-translate only what an edit touched.
 */
const resources = new WeakMap<ConfigDocument, object>();

function resourceOf<R extends object>(doc: ConfigDocument, make: (d: ConfigDocument) => R): R {
  let r = resources.get(doc) as R | undefined;
  if (!r) resources.set(doc, (r = make(doc)));
  return r;
}

function istio<K extends string, S>(docs: readonly ConfigDocument[], kind: K): Resource<K, S>[] {
  return docs
    .filter((d) => d.info.source === "istio" && d.kind === kind)
    .map((doc) =>
      resourceOf(doc, (d) => ({
        apiVersion: d.apiVersion,
        kind,
        metadata: metadataOf(d),
        spec: (d.object.spec ?? {}) as S,
        source: { file: d.file, line: d.line },
      })),
    );
}

/** Builds the typed view; `documents` must be valid (the store only builds sets from valid loads). */
export function buildConfigSet(documents: readonly ConfigDocument[]): ConfigSet {
  const core = (kind: string) => documents.filter((d) => d.info.source === "kubernetes" && d.kind === kind);
  return {
    documents,
    virtualServices: istio(documents, "VirtualService"),
    destinationRules: istio(documents, "DestinationRule"),
    gateways: istio(documents, "Gateway"),
    serviceEntries: istio(documents, "ServiceEntry"),
    workloadEntries: istio(documents, "WorkloadEntry"),
    sidecars: istio(documents, "Sidecar"),
    peerAuthentications: istio(documents, "PeerAuthentication"),
    authorizationPolicies: istio(documents, "AuthorizationPolicy"),
    requestAuthentications: istio(documents, "RequestAuthentication"),
    services: core("Service").map((doc) =>
      resourceOf<KubernetesService>(doc, (d) => ({
        apiVersion: d.apiVersion,
        kind: "Service",
        metadata: metadataOf(d),
        spec: (d.object.spec ?? {}) as KubernetesService["spec"],
        source: { file: d.file, line: d.line },
      })),
    ),
    endpoints: core("Endpoints").map((doc) =>
      resourceOf<KubernetesEndpoints>(doc, (d) => ({
        apiVersion: d.apiVersion,
        kind: "Endpoints",
        metadata: metadataOf(d),
        subsets: (d.object.subsets ?? []) as KubernetesEndpoints["subsets"],
        source: { file: d.file, line: d.line },
      })),
    ),
  };
}
