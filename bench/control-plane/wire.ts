// Just enough of the protobuf wire format for a load generator that must not spend its CPU decoding: the top-level
// fields of a DiscoveryResponse, and the few nested names Envoy follows (a cluster's EDS service name, a listener's
// RDS route config names), read by walking length-delimited fields without building messages.

interface Field {
  number: number;
  wireType: number;
  /** Varint value (wire type 0). */
  varint: number;
  /** Payload of a length-delimited field (wire type 2). */
  bytes: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();

export class WireError extends Error {
  override name = "WireError";
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw new WireError("truncated varint");
      const b = buf[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new WireError("varint too long");
    }
  };
  while (pos < buf.length) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 0) yield { number, wireType, varint: varint(), bytes: EMPTY };
    else if (wireType === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new WireError(`field ${number}: length ${len} runs past the end`);
      const bytes = buf.subarray(pos, pos + len);
      pos += len;
      yield { number, wireType, varint: 0, bytes };
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else throw new WireError(`unsupported wire type ${wireType} (field ${number})`);
  }
}

/** envoy.service.discovery.v3.DiscoveryResponse, resources left encoded (google.protobuf.Any each). */
export interface RawDiscoveryResponse {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: Uint8Array[];
  /** Size of the whole message on the wire (without gRPC framing). */
  byteLength: number;
}

export function readDiscoveryResponse(buf: Uint8Array): RawDiscoveryResponse {
  const out: RawDiscoveryResponse = { versionInfo: "", typeUrl: "", nonce: "", resources: [], byteLength: buf.length };
  for (const f of fields(buf)) {
    if (f.number === 1) out.versionInfo = utf8.decode(f.bytes);
    else if (f.number === 2) out.resources.push(f.bytes);
    else if (f.number === 4) out.typeUrl = utf8.decode(f.bytes);
    else if (f.number === 5) out.nonce = utf8.decode(f.bytes);
  }
  return out;
}

/** google.protobuf.Any: type_url = 1, value = 2. */
export function anyValue(any: Uint8Array): Uint8Array {
  let value = EMPTY;
  for (const f of fields(any)) if (f.number === 2) value = f.bytes;
  return value;
}

function stringField(buf: Uint8Array, number: number): string {
  let s = "";
  for (const f of fields(buf)) if (f.number === number && f.wireType === 2) s = utf8.decode(f.bytes);
  return s;
}

function messageFields(buf: Uint8Array, number: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fields(buf)) if (f.number === number && f.wireType === 2) out.push(f.bytes);
  return out;
}

const CLUSTER_TYPE_EDS = 3;

/**
 * The EDS resource a cluster (an Any) makes Envoy subscribe to, if it is an EDS cluster: eds_cluster_config
 * (3).service_name (2), else the cluster's name (1). Cluster.type is field 2.
 */
export function edsNameOfCluster(any: Uint8Array): string | undefined {
  const cluster = anyValue(any);
  let name = "";
  let type = 0;
  let serviceName = "";
  for (const f of fields(cluster)) {
    if (f.number === 1) name = utf8.decode(f.bytes);
    else if (f.number === 2 && f.wireType === 0) type = f.varint;
    else if (f.number === 3) serviceName = stringField(f.bytes, 2);
  }
  return type === CLUSTER_TYPE_EDS ? serviceName || name : undefined;
}

/**
 * Route configuration names a listener (an Any) makes Envoy subscribe to over RDS: filter_chains (3) and
 * default_filter_chain (25) → filters (3) → typed_config (4, an Any holding an HttpConnectionManager) → rds (3)
 * → route_config_name (2); or, with scoped RDS, → scoped_routes (31) → scoped_route_configurations_list (4) →
 * scoped_route_configurations (1) → route_configuration_name (2), one per scope.
 */
export function rdsNamesOfListener(any: Uint8Array): string[] {
  const listener = anyValue(any);
  const chains = [...messageFields(listener, 3), ...messageFields(listener, 25)];
  const names: string[] = [];
  for (const chain of chains) {
    for (const filter of messageFields(chain, 3)) {
      for (const typed of messageFields(filter, 4)) {
        if (!stringField(typed, 1).endsWith(".HttpConnectionManager")) continue;
        const hcm = anyValue(typed);
        for (const rds of messageFields(hcm, 3)) {
          const name = stringField(rds, 2);
          if (name) names.push(name);
        }
        for (const scoped of messageFields(hcm, 31)) {
          for (const list of messageFields(scoped, 4)) {
            for (const scope of messageFields(list, 1)) {
              const name = stringField(scope, 2);
              if (name) names.push(name);
            }
          }
        }
      }
    }
  }
  return names;
}

/** envoy.service.discovery.v3.Resource, its Any left encoded. */
export interface RawDeltaResource {
  name: string;
  version: string;
  /** The google.protobuf.Any (field 2), as edsNameOfCluster / rdsNamesOfListener take it. */
  any: Uint8Array;
}

/** envoy.service.discovery.v3.DeltaDiscoveryResponse, resources left encoded. */
export interface RawDeltaDiscoveryResponse {
  systemVersionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: RawDeltaResource[];
  removedResources: string[];
  byteLength: number;
}

/** DeltaDiscoveryResponse: system_version_info = 1, resources = 2, type_url = 4, nonce = 5, removed_resources = 6. */
export function readDeltaDiscoveryResponse(buf: Uint8Array): RawDeltaDiscoveryResponse {
  const out: RawDeltaDiscoveryResponse = { systemVersionInfo: "", typeUrl: "", nonce: "", resources: [], removedResources: [], byteLength: buf.length };
  for (const f of fields(buf)) {
    if (f.number === 1) out.systemVersionInfo = utf8.decode(f.bytes);
    else if (f.number === 2) out.resources.push(readDeltaResource(f.bytes));
    else if (f.number === 4) out.typeUrl = utf8.decode(f.bytes);
    else if (f.number === 5) out.nonce = utf8.decode(f.bytes);
    else if (f.number === 6) out.removedResources.push(utf8.decode(f.bytes));
  }
  return out;
}

/** Resource: version = 1, resource = 2 (Any), name = 3. */
function readDeltaResource(buf: Uint8Array): RawDeltaResource {
  const out: RawDeltaResource = { name: "", version: "", any: EMPTY };
  for (const f of fields(buf)) {
    if (f.number === 1 && f.wireType === 2) out.version = utf8.decode(f.bytes);
    else if (f.number === 2 && f.wireType === 2) out.any = f.bytes;
    else if (f.number === 3 && f.wireType === 2) out.name = utf8.decode(f.bytes);
  }
  return out;
}
