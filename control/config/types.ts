// Plain TypeScript views of validated config: the fields Halyard's translation, registry and xDS server use,
// in Istio's (and Kubernetes') own field names. Every object keeps the rest of its fields via the index signature.

export interface ObjectMeta {
  name: string;
  /** Always set: "default" when the file omits it. */
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Where a resource was loaded from, for messages. */
export interface SourceRef {
  file: string;
  line: number;
}

export interface Resource<K extends string, S> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  source: SourceRef;
}

// ---- shared pieces ----

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
  [key: string]: unknown;
}

export interface PortSelector {
  number?: number;
  [key: string]: unknown;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
  [key: string]: unknown;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
  [key: string]: unknown;
}

export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
  [key: string]: unknown;
}

export interface Percent {
  value?: number;
  [key: string]: unknown;
}

export interface WorkloadSelector {
  matchLabels?: Record<string, string>;
  [key: string]: unknown;
}

export interface PolicyTargetReference {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
  [key: string]: unknown;
}

// ---- networking.istio.io ----

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
  withoutHeaders?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
  ignoreUriCase?: boolean;
  [key: string]: unknown;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
  [key: string]: unknown;
}

export interface HTTPRetry {
  attempts?: number;
  perTryTimeout?: string;
  retryOn?: string;
  retryRemoteLocalities?: boolean;
  [key: string]: unknown;
}

export interface HTTPFaultInjection {
  delay?: { fixedDelay?: string; percentage?: Percent; [key: string]: unknown };
  abort?: { httpStatus?: number; grpcStatus?: string; percentage?: Percent; [key: string]: unknown };
  [key: string]: unknown;
}

export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: string;
  scheme?: string;
  redirectCode?: number;
  [key: string]: unknown;
}

export interface HTTPDirectResponse {
  status: number;
  body?: { string?: string; bytes?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  uriRegexRewrite?: { match?: string; rewrite?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface CorsPolicy {
  allowOrigins?: StringMatch[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  [key: string]: unknown;
}

export interface HTTPMirrorPolicy {
  destination: Destination;
  percentage?: Percent;
  [key: string]: unknown;
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: HTTPDirectResponse;
  delegate?: { name?: string; namespace?: string; [key: string]: unknown };
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrorPercentage?: Percent;
  mirrors?: HTTPMirrorPolicy[];
  corsPolicy?: CorsPolicy;
  headers?: Headers;
  [key: string]: unknown;
}

export interface L4MatchAttributes {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  [key: string]: unknown;
}

export interface RouteDestination {
  destination: Destination;
  weight?: number;
  [key: string]: unknown;
}

export interface TCPRoute {
  match?: L4MatchAttributes[];
  route?: RouteDestination[];
  [key: string]: unknown;
}

export interface TLSRoute {
  match: (L4MatchAttributes & { sniHosts: string[] })[];
  route?: RouteDestination[];
  [key: string]: unknown;
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tcp?: TCPRoute[];
  tls?: TLSRoute[];
  exportTo?: string[];
  [key: string]: unknown;
}

export interface LoadBalancerSettings {
  simple?: string;
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name: string; path?: string; ttl?: string; [key: string]: unknown };
    useSourceIp?: boolean;
    httpQueryParameterName?: string;
    ringHash?: { minimumRingSize?: number; [key: string]: unknown };
    maglev?: { tableSize?: number; [key: string]: unknown };
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ConnectionPoolSettings {
  tcp?: { maxConnections?: number; connectTimeout?: string; idleTimeout?: string; [key: string]: unknown };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface OutlierDetection {
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
  [key: string]: unknown;
}

export interface ClientTLSSettings {
  mode?: "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
  credentialName?: string;
  sni?: string;
  subjectAltNames?: string[];
  [key: string]: unknown;
}

export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
  portLevelSettings?: (Omit<TrafficPolicy, "portLevelSettings"> & { port?: PortSelector })[];
  [key: string]: unknown;
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
  [key: string]: unknown;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  workloadSelector?: WorkloadSelector;
  [key: string]: unknown;
}

export interface ServerTLSSettings {
  mode?: "PASSTHROUGH" | "SIMPLE" | "MUTUAL" | "AUTO_PASSTHROUGH" | "ISTIO_MUTUAL" | "OPTIONAL_MUTUAL";
  httpsRedirect?: boolean;
  credentialName?: string;
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  [key: string]: unknown;
}

export interface Server {
  port: { number: number; protocol: string; name: string; [key: string]: unknown };
  hosts: string[];
  bind?: string;
  tls?: ServerTLSSettings;
  name?: string;
  [key: string]: unknown;
}

export interface GatewaySpec {
  selector?: Record<string, string>;
  servers?: Server[];
  [key: string]: unknown;
}

export interface ServicePort {
  number: number;
  protocol?: string;
  name: string;
  targetPort?: number;
  [key: string]: unknown;
}

export interface WorkloadEntrySpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
  [key: string]: unknown;
}

export interface ServiceEntrySpec {
  hosts: string[];
  addresses?: string[];
  ports?: ServicePort[];
  location?: "MESH_EXTERNAL" | "MESH_INTERNAL";
  resolution?: "NONE" | "STATIC" | "DNS" | "DNS_ROUND_ROBIN";
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string>; [key: string]: unknown };
  exportTo?: string[];
  subjectAltNames?: string[];
  [key: string]: unknown;
}

export interface SidecarSpec {
  workloadSelector?: { labels?: Record<string, string>; [key: string]: unknown };
  ingress?: { port: { number: number; protocol?: string; name?: string }; defaultEndpoint?: string; [key: string]: unknown }[];
  egress?: { port?: { number: number; protocol?: string; name?: string }; hosts: string[]; [key: string]: unknown }[];
  outboundTrafficPolicy?: { mode?: "REGISTRY_ONLY" | "ALLOW_ANY"; [key: string]: unknown };
  [key: string]: unknown;
}

// ---- security.istio.io ----

export type MutualTLSMode = "UNSET" | "DISABLE" | "PERMISSIVE" | "STRICT";

export interface PeerAuthenticationSpec {
  selector?: WorkloadSelector;
  mtls?: { mode?: MutualTLSMode; [key: string]: unknown };
  portLevelMtls?: Record<string, { mode?: MutualTLSMode; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface AuthorizationSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
  [key: string]: unknown;
}

export interface AuthorizationOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
  [key: string]: unknown;
}

export interface AuthorizationCondition {
  key: string;
  values?: string[];
  notValues?: string[];
  [key: string]: unknown;
}

export interface AuthorizationRule {
  from?: { source: AuthorizationSource; [key: string]: unknown }[];
  to?: { operation: AuthorizationOperation; [key: string]: unknown }[];
  when?: AuthorizationCondition[];
  [key: string]: unknown;
}

export interface AuthorizationPolicySpec {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  action?: "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";
  provider?: { name: string; [key: string]: unknown };
  rules?: AuthorizationRule[];
  [key: string]: unknown;
}

export interface JWTRule {
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  fromHeaders?: { name: string; prefix?: string; [key: string]: unknown }[];
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  outputClaimToHeaders?: { header: string; claim: string; [key: string]: unknown }[];
  forwardOriginalToken?: boolean;
  timeout?: string;
  [key: string]: unknown;
}

export interface RequestAuthenticationSpec {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  jwtRules?: JWTRule[];
  [key: string]: unknown;
}

// ---- Kubernetes core/v1 ----

export interface KubernetesServiceSpec {
  type?: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  selector?: Record<string, string>;
  ports?: { name?: string; protocol?: "TCP" | "UDP" | "SCTP"; appProtocol?: string; port: number; targetPort?: number | string; [key: string]: unknown }[];
  clusterIP?: string;
  externalName?: string;
  [key: string]: unknown;
}

export interface EndpointSubset {
  addresses?: { ip: string; hostname?: string; nodeName?: string; [key: string]: unknown }[];
  notReadyAddresses?: { ip: string; [key: string]: unknown }[];
  ports?: { name?: string; port: number; protocol?: string; appProtocol?: string; [key: string]: unknown }[];
  [key: string]: unknown;
}

export type VirtualService = Resource<"VirtualService", VirtualServiceSpec>;
export type DestinationRule = Resource<"DestinationRule", DestinationRuleSpec>;
export type Gateway = Resource<"Gateway", GatewaySpec>;
export type ServiceEntry = Resource<"ServiceEntry", ServiceEntrySpec>;
export type WorkloadEntry = Resource<"WorkloadEntry", WorkloadEntrySpec>;
export type Sidecar = Resource<"Sidecar", SidecarSpec>;
export type PeerAuthentication = Resource<"PeerAuthentication", PeerAuthenticationSpec>;
export type AuthorizationPolicy = Resource<"AuthorizationPolicy", AuthorizationPolicySpec>;
export type RequestAuthentication = Resource<"RequestAuthentication", RequestAuthenticationSpec>;
export type KubernetesService = Resource<"Service", KubernetesServiceSpec>;
/** Endpoints has no spec: its addresses are in top-level `subsets`. */
export interface KubernetesEndpoints {
  apiVersion: string;
  kind: "Endpoints";
  metadata: ObjectMeta;
  subsets: EndpointSubset[];
  source: SourceRef;
}
