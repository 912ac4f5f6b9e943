// halyard.wasm as Envoy HTTP filters (envoy.extensions.filters.http.wasm.v3.Wasm): every root id runs in one
// shared VM (same vm_id and code), its configuration a google.protobuf.StringValue of JSON. The module comes from
// a local file or from the control plane's HTTP port (`remote`: http_uri + sha256, through a cluster of its own).
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Cluster_DiscoveryType, Cluster_DnsLookupFamily, ClusterSchema, type Cluster } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { WasmSchema } from "../../../gen/envoy/extensions/filters/http/wasm/v3/wasm_pb.js";
import type { HttpFilterSchema } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { durationFromMs, packed, socketAddress, stringValue, TranslateError } from "./common.js";

type HttpFilterInit = MessageInitShape<typeof HttpFilterSchema>;

export const WASM_VM_ID = "halyard";
export const WASM_RUNTIME = "envoy.wasm.runtime.v8";
/** The cluster Envoy fetches a remote halyard.wasm through. */
export const WASM_FETCH_CLUSTER = "halyard-wasm-http";

export type WasmCode =
  | { kind: "local"; filename: string }
  /** `url`: http://host:port/wasm/halyard.wasm on the control plane; `sha256`: hex digest Envoy checks. */
  | { kind: "remote"; url: string; sha256: string };

/** Where halyard.wasm lives when neither the node nor the options say: the path `halyard bootstrap` defaults to. */
export const DEFAULT_WASM_FILENAME = "/etc/halyard/halyard.wasm";

function remoteTarget(url: string): { host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TranslateError(`wasm: remote url ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== "http:") throw new TranslateError(`wasm: remote url ${JSON.stringify(url)} must be http:// (the control plane's --http-port)`);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ""), port: parsed.port ? Number(parsed.port) : 80 };
}

function codeSource(code: WasmCode) {
  if (code.kind === "local") return { specifier: { case: "local" as const, value: { specifier: { case: "filename" as const, value: code.filename } } } };
  if (!/^[0-9a-f]{64}$/.test(code.sha256)) throw new TranslateError(`wasm: sha256 ${JSON.stringify(code.sha256)} is not 64 lower-case hex digits`);
  remoteTarget(code.url);
  return {
    specifier: {
      case: "remote" as const,
      value: { httpUri: { uri: code.url, httpUpstreamType: { case: "cluster" as const, value: WASM_FETCH_CLUSTER }, timeout: durationFromMs(10_000) }, sha256: code.sha256 },
    },
  };
}

/** The HTTP filter running `rootId` of halyard.wasm with `configuration` (JSON text). */
export function wasmHttpFilter(rootId: string, configuration: string, code: WasmCode): HttpFilterInit {
  const wasm = {
    config: {
      name: rootId,
      rootId,
      vm: { case: "vmConfig" as const, value: { vmId: WASM_VM_ID, runtime: WASM_RUNTIME, code: codeSource(code) } },
      configuration: stringValue(configuration),
      failOpen: false,
    },
  };
  return { name: rootId, configType: { case: "typedConfig", value: packed(WasmSchema, wasm) } };
}

/** The cluster a remote halyard.wasm is fetched through (only needed for `remote`). */
export function wasmFetchCluster(code: WasmCode): Cluster | undefined {
  if (code.kind !== "remote") return undefined;
  const { host, port } = remoteTarget(code.url);
  return create(ClusterSchema, {
    name: WASM_FETCH_CLUSTER,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STRICT_DNS },
    dnsLookupFamily: Cluster_DnsLookupFamily.V4_ONLY,
    connectTimeout: durationFromMs(5_000),
    loadAssignment: { clusterName: WASM_FETCH_CLUSTER, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: socketAddress(host, port) } } }] }] },
  });
}
