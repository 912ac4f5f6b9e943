// Decodes proto3 JSON with @bufbuild/protobuf's fromJson (strict: unknown fields and wrong types are errors, as in
// Envoy's own proto parsing) and, when it fails, finds the field path of the first offending value by re-checking
// sub-trees against their descriptors. Portable.
import { fromJson, type DescMessage, type JsonValue, type MessageShape, type Registry } from "@bufbuild/protobuf";
import { problemAt, type FieldPath, type FieldProblem } from "./errors.js";

/** Well-known types whose JSON form is not an object of their fields; they are checked as a whole. */
export const SPECIAL_JSON_TYPES = new Set(
  [
    "Duration", "Timestamp", "FieldMask", "Struct", "Value", "ListValue",
    "DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue", "StringValue", "BytesValue",
  ].map((n) => `google.protobuf.${n}`),
);
export const ANY_TYPE = "google.protobuf.Any";

export type Decoded<Desc extends DescMessage> = { ok: true; message: MessageShape<Desc> } | { ok: false; problem: FieldProblem };

export function decodeJson<Desc extends DescMessage>(schema: Desc, json: unknown, registry: Registry): Decoded<Desc> {
  try {
    return { ok: true, message: fromJson(schema, json as JsonValue, { registry }) };
  } catch {
    return { ok: false, problem: locate(schema, json, [], registry) ?? problemAt([], "invalid bootstrap") };
  }
}

export function typeNameOfUrl(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function failure(desc: DescMessage, value: unknown, registry: Registry): string | undefined {
  try {
    fromJson(desc, value as JsonValue, { registry });
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function locate(desc: DescMessage, value: unknown, path: FieldPath, registry: Registry): FieldProblem | undefined {
  const err = failure(desc, value, registry);
  if (err === undefined) return undefined;
  if (desc.typeName === ANY_TYPE && isObject(value)) {
    const url = value["@type"];
    if (typeof url !== "string") return problemAt(path, `missing "@type" for a google.protobuf.Any value`);
    const inner = registry.getMessage(typeNameOfUrl(url));
    if (!inner) return problemAt(path, `unknown type "${url}"`, "@type");
    if (SPECIAL_JSON_TYPES.has(inner.typeName)) return locate(inner, value.value, [...path, "value"], registry) ?? problemAt(path, cleanMessage(err));
    const { "@type": _, ...fields } = value;
    return locate(inner, fields, path, registry) ?? problemAt(path, cleanMessage(err));
  }
  if (isObject(value) && !SPECIAL_JSON_TYPES.has(desc.typeName)) {
    for (const [key, child] of Object.entries(value)) {
      const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
      if (!field) return problemAt(path, `unknown field "${key}"`, key);
      const fieldPath = [...path, field.name];
      const single = (v: unknown) => failure(desc, { [key]: v }, registry);
      let found: FieldProblem | undefined;
      if (field.fieldKind === "message" && child !== null) {
        found = locate(field.message, child, fieldPath, registry);
      } else if (field.fieldKind === "list" && Array.isArray(child)) {
        for (let i = 0; i < child.length && !found; i++) {
          if (field.listKind === "message") found = locate(field.message, child[i], [...fieldPath, i], registry);
          else {
            const e = single([child[i]]);
            if (e) found = problemAt([...fieldPath, i], cleanMessage(e));
          }
        }
      } else if (field.fieldKind === "map" && isObject(child)) {
        for (const [k, v] of Object.entries(child)) {
          if (found) break;
          if (field.mapKind === "message") found = locate(field.message, v, [...fieldPath, k], registry);
          else {
            const e = single({ [k]: v });
            if (e) found = problemAt([...fieldPath, k], cleanMessage(e));
          }
        }
      }
      if (found) return found;
      const e = single(child);
      if (e) return problemAt(fieldPath, cleanMessage(e));
    }
  }
  return problemAt(path, cleanMessage(err));
}

// "cannot decode field X.y from JSON: expected string, got 5" -> "expected string, got 5", etc.
function cleanMessage(msg: string): string {
  const m = /^cannot decode (message|field|enum) (\S+) from JSON: (.*)$/s.exec(msg);
  if (!m) return msg;
  const [, kind, name, rest] = m;
  if (kind === "enum") return `invalid value ${rest} for enum ${name}`;
  if (kind === "message") {
    const unknown = /^key "(.*)" is unknown$/.exec(rest!);
    if (unknown) return `unknown field "${unknown[1]}"`;
    return rest!.startsWith('"') || /^[-\d\[{tfn]/.test(rest!) ? `invalid ${name}: ${rest}` : rest!;
  }
  return rest!;
}
