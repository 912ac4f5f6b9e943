// engine/json — strict JSON for AssemblyScript (RFC 8259), shared by the engine and the filters.
//
// Parsing (never traps; failures come back as data):
//   parseJson(buf: ArrayBuffer): JsonResult          UTF-8 bytes
//   parseJsonView(view: Uint8Array): JsonResult      UTF-8 bytes in a view
//   parseJsonBytes(ptr: usize, len: i32): JsonResult UTF-8 bytes in linear memory (hostcall results)
//   parseJsonString(s: string): JsonResult           convenience; error offsets are UTF-8 byte offsets
//   JsonResult: ok, value (JsonValue | null), error (message), offset (byte), describe() => "msg at byte N"
// Rejected: trailing commas, comments, single quotes, leading zeros, NaN/Infinity, raw control
// characters or invalid UTF-8 in strings, duplicate member names, trailing data, nesting > JSON_MAX_DEPTH.
//
// Tree: JsonValue { kind: JsonKind (Null/Bool/Number/String/Array/Object), boolValue, numberValue,
//   stringValue, items (array elements / object values), keys (object names, document order) }
//   isNull() isBool() isNumber() isString() isArray() isObject() kindName() length at(i) keyAt(i)
//   has(key) get(key): JsonValue|null  getString(key, def) getNumber(key, def) getBool(key, def)
//   getArray(key): JsonValue[]|null  getObject(key): JsonValue|null  (typed getters return the
//   default/null when the member is absent OR has another kind — check has()/kindName() to report it)
//   Building: JsonValue.newNull/newBool/newNumber/newString/newArray/newObject, push(v), set(key, v).
//
// Writing: JsonWriter (beginObject/endObject/beginArray/endArray/key/string/number/integer/bool/
//   nullValue/raw/value, toString(), toUTF8()), stringifyJson(v), quoteJsonString(s), formatJsonNumber(n).
//   Strings are escaped exactly as JSON.stringify does; numbers always read back as the same double
//   (integers print bare; other values may use more digits than the shortest form); NaN/±Inf -> null.
// Numbers parse correctly rounded (Clinger fast path, exact big-integer fallback in decimal.ts).
// Config reading: Reader (reader.ts) — typed member readers with one-line "path: message" errors
//   (first error wins), joinPath(path, key), indexPath(path, i), describeValue(v, limit).
// Memory note: parseJsonBytes(ptr, len) does not own the bytes — keep them alive during the call.
export { JsonKind, JsonValue, jsonKindName } from "./value";
export { JsonResult, JSON_MAX_DEPTH, parseJson, parseJsonBytes, parseJsonString, parseJsonView } from "./parser";
export { JsonWriter, formatJsonNumber, quoteJsonString, stringifyJson } from "./writer";
export { Reader, describeValue, indexPath, joinPath } from "./reader";
