// Reads the JSON configuration tree with one-line errors naming the field by its path, e.g.
// `policies[2](foo/httpbin).rules[0].from[1].source.ipBlocks[0]: bad CIDR range "10.0.0.0/33"`.
// The first error wins; callers check `failed` and stop.
import { JsonKind, JsonValue, formatJsonNumber } from "../json/index";

export function describeValue(v: JsonValue): string {
  if (v.kind == JsonKind.String) {
    const s = v.stringValue;
    return "\"" + (s.length > 60 ? s.substring(0, 60) + "..." : s) + "\"";
  }
  if (v.kind == JsonKind.Number) return formatJsonNumber(v.numberValue);
  if (v.kind == JsonKind.Bool) return v.boolValue ? "true" : "false";
  return v.kindName();
}

export function joinPath(path: string, key: string): string {
  return path.length ? path + "." + key : key;
}

export function indexPath(path: string, i: i32): string {
  return path + "[" + i.toString() + "]";
}

export class Reader {
  error: string = "";

  get failed(): bool {
    return this.error.length > 0;
  }

  /** Records the first error; returns false so callers can `return r.fail(...)`. */
  fail(path: string, message: string): bool {
    if (!this.failed) this.error = path.length ? path + ": " + message : message;
    return false;
  }

  object(v: JsonValue, path: string): bool {
    if (v.kind == JsonKind.Object) return true;
    return this.fail(path, "expected an object, got " + describeValue(v));
  }

  /** Rejects members not in `allowed`, so a typo never silently becomes "any". */
  onlyKnown(obj: JsonValue, path: string, allowed: string[]): bool {
    for (let i = 0, n = obj.length; i < n; i++) {
      const k = obj.keyAt(i);
      if (!allowed.includes(k)) {
        return this.fail(joinPath(path, k), "unknown field (expected one of: " + allowed.join(", ") + ")");
      }
    }
    return true;
  }

  /** Member `key`, or null when absent or JSON null. */
  member(obj: JsonValue, key: string): JsonValue | null {
    const v = obj.get(key);
    return v && v.kind != JsonKind.Null ? v : null;
  }

  string(obj: JsonValue, key: string, path: string, def: string = ""): string {
    const v = this.member(obj, key);
    if (!v) return def;
    if (v.kind != JsonKind.String) {
      this.fail(joinPath(path, key), "expected a string, got " + describeValue(v));
      return def;
    }
    return v.stringValue;
  }

  requiredString(obj: JsonValue, key: string, path: string): string {
    if (!this.member(obj, key)) {
      this.fail(joinPath(path, key), "required field is missing");
      return "";
    }
    const s = this.string(obj, key, path);
    if (!this.failed && s.length == 0) this.fail(joinPath(path, key), "must not be empty");
    return s;
  }

  bool(obj: JsonValue, key: string, path: string, def: bool = false): bool {
    const v = this.member(obj, key);
    if (!v) return def;
    if (v.kind != JsonKind.Bool) {
      this.fail(joinPath(path, key), "expected true or false, got " + describeValue(v));
      return def;
    }
    return v.boolValue;
  }

  /** Array member (null when absent or JSON null). */
  array(obj: JsonValue, key: string, path: string): JsonValue | null {
    const v = this.member(obj, key);
    if (!v) return null;
    if (v.kind != JsonKind.Array) {
      this.fail(joinPath(path, key), "expected an array, got " + describeValue(v));
      return null;
    }
    return v;
  }

  /** A list of non-empty strings (Istio rejects empty values); [] when absent or null. */
  stringList(obj: JsonValue, key: string, path: string): string[] {
    const out = new Array<string>();
    const a = this.array(obj, key, path);
    if (!a) return out;
    const where = joinPath(path, key);
    for (let i = 0, n = a.length; i < n; i++) {
      const item = a.at(i)!;
      if (item.kind != JsonKind.String) {
        this.fail(indexPath(where, i), "expected a string, got " + describeValue(item));
        return out;
      }
      if (item.stringValue.length == 0) {
        this.fail(indexPath(where, i), "empty value not allowed");
        return out;
      }
      out.push(item.stringValue);
    }
    return out;
  }
}
