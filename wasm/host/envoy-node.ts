// Minimal protobuf encoding of envoy.config.core.v3.Node (id = 1, cluster = 2, metadata = 3 as a
// google.protobuf.Struct), built from "node.id", "node.cluster" and "node.metadata.<key>" properties.
import type { PropertyValue } from "./types.js";
import { encodeUtf8 } from "./utf8.js";

class Writer {
  private readonly chunks: number[] = [];

  varint(v: number): this {
    while (v > 0x7f) {
      this.chunks.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.chunks.push(v);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.varint((field << 3) | 2).varint(data.length);
    for (const b of data) this.chunks.push(b);
    return this;
  }

  double(field: number, v: number): this {
    this.varint((field << 3) | 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    for (const x of b) this.chunks.push(x);
    return this;
  }

  bool(field: number, v: boolean): this {
    return this.varint(field << 3).varint(v ? 1 : 0);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

/** google.protobuf.Value: number_value = 2, string_value = 3, bool_value = 4. */
function structValue(v: PropertyValue): Uint8Array {
  const w = new Writer();
  if (typeof v === "boolean") w.bool(4, v);
  else if (typeof v === "number" || typeof v === "bigint") w.double(2, Number(v));
  else w.bytes(3, typeof v === "string" ? encodeUtf8(v) : v);
  return w.finish();
}

function encodeStruct(props: Record<string, PropertyValue>): Uint8Array {
  const w = new Writer();
  for (const [key, value] of Object.entries(props)) {
    if (!key.startsWith("node.metadata.")) continue;
    const entry = new Writer().bytes(1, encodeUtf8(key.slice("node.metadata.".length))).bytes(2, structValue(value)).finish();
    w.bytes(1, entry);
  }
  return w.finish();
}

/** The Node message, or only its metadata Struct when part === "metadata". */
export function encodeNode(props: Record<string, PropertyValue>, part?: "metadata"): Uint8Array {
  if (part === "metadata") return encodeStruct(props);
  const w = new Writer();
  const id = props["node.id"];
  const cluster = props["node.cluster"];
  if (id !== undefined) w.bytes(1, typeof id === "string" ? encodeUtf8(id) : encodeUtf8(String(id)));
  if (cluster !== undefined) w.bytes(2, encodeUtf8(String(cluster)));
  const metadata = encodeStruct(props);
  if (metadata.length) w.bytes(3, metadata);
  return w.finish();
}
