// Reading a JSON config tree with one-line errors that name the offending field by its path
// (e.g. `virtual_hosts[0].routes[2](reviews-v2).route[1].weight: ...`). The first error wins;
// callers check `failed` and stop. Nothing here traps on any input.
import { JsonKind, JsonValue, formatJsonNumber } from "../json/index";

function describeValue(v: JsonValue): string {
  if (v.kind == JsonKind.String) {
    const s = v.stringValue;
    return "\"" + (s.length > 40 ? s.substring(0, 40) + "..." : s) + "\"";
  }
  if (v.kind == JsonKind.Number) return formatJsonNumber(v.numberValue);
  if (v.kind == JsonKind.Bool) return v.boolValue ? "true" : "false";
  return v.kindName();
}

export class Decoder {
  error: string = "";

  get failed(): bool {
    return this.error.length > 0;
  }

  /** Records the first error; always returns false so callers can `return d.fail(...)`. */
  fail(path: string, message: string): bool {
    if (!this.failed) this.error = path + ": " + message;
    return false;
  }

  isObject(v: JsonValue, path: string): bool {
    if (v.kind == JsonKind.Object) return true;
    return this.fail(path, "expected an object, got " + describeValue(v));
  }

  /** Rejects members not in `allowed` (so typos never silently fall back to defaults). */
  onlyKnown(obj: JsonValue, path: string, allowed: string[]): bool {
    for (let i = 0, n = obj.length; i < n; i++) {
      const k = obj.keyAt(i);
      if (!allowed.includes(k)) {
        return this.fail(join(path, k), "unknown field (expected one of: " + allowed.join(", ") + ")");
      }
    }
    return true;
  }

  /** Member `key` if present and not null; errors are left to the typed readers. */
  member(obj: JsonValue, key: string): JsonValue | null {
    const v = obj.get(key);
    return v && v.kind != JsonKind.Null ? v : null;
  }

  string(obj: JsonValue, key: string, path: string, def: string = ""): string {
    const v = this.member(obj, key);
    if (!v) return def;
    if (v.kind != JsonKind.String) {
      this.fail(join(path, key), "expected a string, got " + describeValue(v));
      return def;
    }
    return v.stringValue;
  }

  requiredString(obj: JsonValue, key: string, path: string): string {
    const v = this.member(obj, key);
    if (!v) {
      this.fail(join(path, key), "required field is missing");
      return "";
    }
    const s = this.string(obj, key, path);
    if (!this.failed && s.length == 0) this.fail(join(path, key), "must not be empty");
    return s;
  }

  bool(obj: JsonValue, key: string, path: string, def: bool = false): bool {
    const v = this.member(obj, key);
    if (!v) return def;
    if (v.kind != JsonKind.Bool) {
      this.fail(join(path, key), "expected true or false, got " + describeValue(v));
      return def;
    }
    return v.boolValue;
  }

  /** An integer in [min, max]. */
  integer(obj: JsonValue, key: string, path: string, def: i64, min: i64, max: i64): i64 {
    const v = this.member(obj, key);
    if (!v) return def;
    return this.integerValue(v, join(path, key), min, max, def);
  }

  integerValue(v: JsonValue, path: string, min: i64, max: i64, def: i64): i64 {
    const range = " in [" + min.toString() + ", " + max.toString() + "]";
    if (v.kind != JsonKind.Number) {
      this.fail(path, "expected an integer" + range + ", got " + describeValue(v));
      return def;
    }
    const n = v.numberValue;
    if (n != Math.trunc(n) || n < <f64>min || n > <f64>max) {
      this.fail(path, "expected an integer" + range + ", got " + describeValue(v));
      return def;
    }
    return <i64>n;
  }

  /** A number in [min, max]. */
  number(obj: JsonValue, key: string, path: string, def: f64, min: f64, max: f64): f64 {
    const v = this.member(obj, key);
    if (!v) return def;
    if (v.kind != JsonKind.Number || !(v.numberValue >= min && v.numberValue <= max)) {
      this.fail(join(path, key), "expected a number in [" + formatJsonNumber(min) + ", " + formatJsonNumber(max) + "], got " + describeValue(v));
      return def;
    }
    return v.numberValue;
  }

  /** Object member (null when absent or on error). */
  object(obj: JsonValue, key: string, path: string): JsonValue | null {
    const v = this.member(obj, key);
    if (!v) return null;
    return this.isObject(v, join(path, key)) ? v : null;
  }

  /** Array member's elements (null when absent or on error). */
  array(obj: JsonValue, key: string, path: string): JsonValue[] | null {
    const v = this.member(obj, key);
    if (!v) return null;
    if (v.kind != JsonKind.Array) {
      this.fail(join(path, key), "expected an array, got " + describeValue(v));
      return null;
    }
    return v.items;
  }

  stringArray(obj: JsonValue, key: string, path: string): string[] {
    const out: string[] = [];
    const items = this.array(obj, key, path);
    if (!items) return out;
    for (let i = 0; i < items.length; i++) {
      const v = unchecked(items[i]);
      if (v.kind != JsonKind.String) {
        this.fail(index(join(path, key), i), "expected a string, got " + describeValue(v));
        return out;
      }
      out.push(v.stringValue);
    }
    return out;
  }
}

export function join(path: string, key: string): string {
  return path.length ? path + "." + key : key;
}

export function index(path: string, i: i32): string {
  return path + "[" + i.toString() + "]";
}
