// Reads a JSON configuration tree with one-line errors naming the offending field by its path,
// e.g. `policies[2](foo/httpbin).rules[0].from[1].source.ipBlocks[0]: bad CIDR range "10.0.0.0/33"`
// or `virtual_hosts[0].routes[2](reviews-v2).route[1].weight: ...`. The first error wins; callers
// check `failed` and stop. Nothing here traps on any input. Shared by engine/authz and engine/route.
import { JsonKind, JsonValue } from "./value";
import { formatJsonNumber } from "./writer";

/** A short rendering of `v` for error messages; strings longer than `limit` are cut and end in "...". */
export function describeValue(v: JsonValue, limit: i32): string {
  if (v.kind == JsonKind.String) {
    const s = v.stringValue;
    return "\"" + (s.length > limit ? s.substring(0, limit) + "..." : s) + "\"";
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

function isIntegerIn(v: JsonValue, min: i64, max: i64): bool {
  if (v.kind != JsonKind.Number) return false;
  const n = v.numberValue;
  return n == Math.trunc(n) && n >= <f64>min && n <= <f64>max;
}

export class Reader {
  error: string = "";
  /** Strings longer than this are truncated when quoted in an error. */
  describeLimit: i32;
  /** When false, an error at the empty (root) path is just the message; when true it is ": message". */
  prefixEmptyPath: bool;

  constructor(describeLimit: i32 = 60, prefixEmptyPath: bool = false) {
    this.describeLimit = describeLimit;
    this.prefixEmptyPath = prefixEmptyPath;
  }

  get failed(): bool {
    return this.error.length > 0;
  }

  describe(v: JsonValue): string {
    return describeValue(v, this.describeLimit);
  }

  /** Records the first error; always returns false so callers can `return r.fail(...)`. */
  fail(path: string, message: string): bool {
    if (!this.failed) this.error = path.length || this.prefixEmptyPath ? path + ": " + message : message;
    return false;
  }

  isObject(v: JsonValue, path: string): bool {
    if (v.kind == JsonKind.Object) return true;
    return this.fail(path, "expected an object, got " + this.describe(v));
  }

  /** Rejects members not in `allowed`, so a typo never silently becomes a default. */
  onlyKnown(obj: JsonValue, path: string, allowed: string[]): bool {
    for (let i = 0, n = obj.length; i < n; i++) {
      const k = obj.keyAt(i);
      if (!allowed.includes(k)) {
        return this.fail(joinPath(path, k), "unknown field (expected one of: " + allowed.join(", ") + ")");
      }
    }
    return true;
  }

  /** Member `key`, or null when absent or JSON null; errors are left to the typed readers. */
  member(obj: JsonValue, key: string): JsonValue | null {
    const v = obj.get(key);
    return v && v.kind != JsonKind.Null ? v : null;
  }

  string(obj: JsonValue, key: string, path: string, def: string = ""): string {
    const v = this.member(obj, key);
    if (!v) return def;
    if (v.kind != JsonKind.String) {
      this.fail(joinPath(path, key), "expected a string, got " + this.describe(v));
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
      this.fail(joinPath(path, key), "expected true or false, got " + this.describe(v));
      return def;
    }
    return v.boolValue;
  }

  /** An integer in [min, max]. */
  integer(obj: JsonValue, key: string, path: string, def: i64, min: i64, max: i64): i64 {
    const v = this.member(obj, key);
    if (!v) return def;
    // The path is only built for an error: decoding a large config reads thousands of valid integers.
    if (isIntegerIn(v, min, max)) return <i64>v.numberValue;
    return this.integerValue(v, joinPath(path, key), min, max, def);
  }

  integerValue(v: JsonValue, path: string, min: i64, max: i64, def: i64): i64 {
    if (isIntegerIn(v, min, max)) return <i64>v.numberValue;
    this.fail(path, "expected an integer in [" + min.toString() + ", " + max.toString() + "], got " + this.describe(v));
    return def;
  }

  /** A number in [min, max]. */
  number(obj: JsonValue, key: string, path: string, def: f64, min: f64, max: f64): f64 {
    const v = this.member(obj, key);
    if (!v) return def;
    if (v.kind != JsonKind.Number || !(v.numberValue >= min && v.numberValue <= max)) {
      this.fail(joinPath(path, key), "expected a number in [" + formatJsonNumber(min) + ", " + formatJsonNumber(max) + "], got " + this.describe(v));
      return def;
    }
    return v.numberValue;
  }

  /** Object member (null when absent or on error). */
  object(obj: JsonValue, key: string, path: string): JsonValue | null {
    const v = this.member(obj, key);
    if (!v) return null;
    if (v.kind == JsonKind.Object) return v;
    this.isObject(v, joinPath(path, key));
    return null;
  }

  /** Array member's elements (null when absent, JSON null, or on error). */
  array(obj: JsonValue, key: string, path: string): JsonValue[] | null {
    const v = this.member(obj, key);
    if (!v) return null;
    if (v.kind != JsonKind.Array) {
      this.fail(joinPath(path, key), "expected an array, got " + this.describe(v));
      return null;
    }
    return v.items;
  }

  /** A list of strings; [] when absent or null. Empty strings are allowed. */
  stringArray(obj: JsonValue, key: string, path: string): string[] {
    return this.strings(obj, key, path, true);
  }

  /** A list of non-empty strings (Istio rejects empty values); [] when absent or null. */
  stringList(obj: JsonValue, key: string, path: string): string[] {
    return this.strings(obj, key, path, false);
  }

  private strings(obj: JsonValue, key: string, path: string, allowEmpty: bool): string[] {
    const out = new Array<string>();
    const items = this.array(obj, key, path);
    if (!items) return out;
    for (let i = 0, n = items.length; i < n; i++) {
      const item = unchecked(items[i]);
      if (item.kind != JsonKind.String) {
        this.fail(indexPath(joinPath(path, key), i), "expected a string, got " + this.describe(item));
        return out;
      }
      if (!allowEmpty && item.stringValue.length == 0) {
        this.fail(indexPath(joinPath(path, key), i), "empty value not allowed");
        return out;
      }
      out.push(item.stringValue);
    }
    return out;
  }
}
