// The Envoy v3 bootstrap a proxy starts from to get everything else over ADS: node id and metadata, admin on
// 127.0.0.1:15000, ADS over gRPC to the static `xds-grpc` cluster (HTTP/2), CDS and LDS from ADS. With an agent
// (`sdsSocket`): a static `sds-grpc` cluster to its Unix socket (HTTP/2), as Istio's bootstrap has, and node
// metadata HALYARD_SDS_CLUSTER telling the translator to point `default` / `ROOTCA` there instead of ADS.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { isIP } from "node:net";
import { Cluster_DiscoveryType, Cluster_DnsLookupFamily } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { BootstrapSchema, type Bootstrap } from "../../../gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { ApiConfigSource_ApiType, ApiVersion } from "../../../gen/envoy/config/core/v3/config_source_pb.js";
import { HttpProtocolOptionsSchema } from "../../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { parseNodeId } from "../../registry/node.js";
import { HTTP_PROTOCOL_OPTIONS_KEY } from "./clusters.js";
import { adsConfigSource, durationFromMs, packed, socketAddress, TranslateError } from "./common.js";
import { METADATA_LABELS, METADATA_NAMESPACE, METADATA_SDS_CLUSTER, METADATA_WASM_PATH } from "./node.js";

export const XDS_CLUSTER = "xds-grpc";
export const SDS_CLUSTER = "sds-grpc";
export const ADMIN_PORT = 15000;

export interface BootstrapOptions {
  nodeId: string;
  /** The control plane's xDS gRPC address (`halyard serve --xds-port`). */
  xds: { host: string; port: number };
  /** Where this proxy finds halyard.wasm; sent as node metadata HALYARD_WASM_PATH. */
  wasmPath?: string;
  labels?: Record<string, string>;
  /** Node.cluster (Istio: `<workload>.<namespace>`); defaults to the id's `name.namespace`. */
  cluster?: string;
  /** The Unix socket `halyard agent` serves SDS on (`default`, `ROOTCA`); absent: secrets come over ADS. */
  sdsSocket?: string;
}

const http2Options = () => ({
  [HTTP_PROTOCOL_OPTIONS_KEY]: packed(HttpProtocolOptionsSchema, {
    upstreamProtocolOptions: { case: "explicitHttpConfig", value: { protocolConfig: { case: "http2ProtocolOptions", value: {} } } },
  }),
});

/** The static cluster to the agent's SDS socket (a pipe address), as Istio's bootstrap names it. */
function sdsCluster(path: string) {
  return {
    name: SDS_CLUSTER,
    clusterDiscoveryType: { case: "type" as const, value: Cluster_DiscoveryType.STATIC },
    connectTimeout: durationFromMs(1_000),
    loadAssignment: {
      clusterName: SDS_CLUSTER,
      endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint" as const, value: { address: { address: { case: "pipe" as const, value: { path } } } } } }] }],
    },
    typedExtensionProtocolOptions: http2Options(),
  };
}

/** `host:port` (IPv6 in brackets) as given to --xds. */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new TranslateError(`${flag}: ${JSON.stringify(text)} is not host:port`);
  return { host: m[1] ?? m[2]!, port };
}

export function buildBootstrap(options: BootstrapOptions): Bootstrap {
  const node = parseNodeId(options.nodeId); // NodeIdError: one line naming the id
  const metadata: JsonObject = { [METADATA_NAMESPACE]: node.namespace };
  if (options.labels && Object.keys(options.labels).length > 0) metadata[METADATA_LABELS] = { ...options.labels };
  if (options.wasmPath) metadata[METADATA_WASM_PATH] = options.wasmPath;
  if (options.sdsSocket !== undefined) {
    if (options.sdsSocket === "") throw new TranslateError("--sds-socket: the socket path is empty");
    metadata[METADATA_SDS_CLUSTER] = SDS_CLUSTER;
  }
  const { host, port } = options.xds;
  return create(BootstrapSchema, {
    node: { id: options.nodeId, cluster: options.cluster ?? node.id, metadata },
    admin: { address: socketAddress("127.0.0.1", ADMIN_PORT) },
    dynamicResources: {
      adsConfig: {
        apiType: ApiConfigSource_ApiType.GRPC,
        transportApiVersion: ApiVersion.V3,
        setNodeOnFirstMessageOnly: true,
        grpcServices: [{ targetSpecifier: { case: "envoyGrpc", value: { clusterName: XDS_CLUSTER } } }],
      },
      cdsConfig: adsConfigSource(),
      ldsConfig: adsConfigSource(),
    },
    staticResources: {
      clusters: [
        {
          name: XDS_CLUSTER,
          clusterDiscoveryType: { case: "type", value: isIP(host) ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.STRICT_DNS },
          ...(isIP(host) ? {} : { dnsLookupFamily: Cluster_DnsLookupFamily.V4_ONLY }),
          connectTimeout: durationFromMs(1_000),
          loadAssignment: { clusterName: XDS_CLUSTER, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: socketAddress(host, port) } } }] }] },
          typedExtensionProtocolOptions: http2Options(),
        },
        ...(options.sdsSocket !== undefined ? [sdsCluster(options.sdsSocket)] : []),
      ],
    },
  });
}
