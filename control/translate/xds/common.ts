// Small pieces every xDS builder uses: the ADS config source, durations from Istio's YAML strings, Any packing
// with a name, and Istio's fixed cluster names.
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, DurationSchema, StringValueSchema, type Any, type Duration } from "@bufbuild/protobuf/wkt";
import { ApiVersion, ConfigSourceSchema, type ConfigSource } from "../../../gen/envoy/config/core/v3/config_source_pb.js";
import { durationMs } from "../duration.js";

export const BLACKHOLE_CLUSTER = "BlackHoleCluster";
export { PASSTHROUGH_CLUSTER } from "../destinations.js";

/** Istio's default connect timeout (MeshConfig.connectTimeout). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Envoy's "unlimited" for circuit breaker thresholds, as Istio writes it. */
export const MAX_UINT32 = 4_294_967_295;

/** Every dynamic resource comes over the one ADS stream. */
export function adsConfigSource(): ConfigSource {
  return create(ConfigSourceSchema, { configSourceSpecifier: { case: "ads", value: {} }, resourceApiVersion: ApiVersion.V3 });
}

export function durationFromMs(ms: number): Duration {
  const whole = Math.floor(ms / 1000);
  return create(DurationSchema, { seconds: BigInt(whole), nanos: Math.round((ms - whole * 1000) * 1e6) });
}

/** An Istio duration string ("10s", "1.5s", "250ms") as a protobuf Duration; undefined when absent. */
export function istioDuration(text: string | undefined, field: string): Duration | undefined {
  if (text === undefined) return undefined;
  const ms = durationMs(text);
  if (ms === undefined) throw new TranslateError(`${field}: "${text}" is not a duration`);
  return durationFromMs(ms);
}

export function packed<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Any {
  return anyPack(schema, create(schema, init));
}

export function stringValue(text: string): Any {
  return packed(StringValueSchema, { value: text });
}

/** A configuration problem found while translating (one line naming the object and field). */
export class TranslateError extends Error {
  override name = "TranslateError";
}

export function socketAddress(address: string, port: number) {
  return { address: { case: "socketAddress" as const, value: { address, portSpecifier: { case: "portValue" as const, value: port } } } };
}
