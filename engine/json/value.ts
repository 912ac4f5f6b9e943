// The parsed JSON tree. Objects keep their members in document order (parallel `keys`/`items`
// arrays) and get a hash index once they grow past a few members.

export enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

/** Objects with more members than this get a Map index for lookups. */
const INDEX_THRESHOLD = 8;

export function jsonKindName(kind: JsonKind): string {
  switch (kind) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return "bool";
    case JsonKind.Number: return "number";
    case JsonKind.String: return "string";
    case JsonKind.Array: return "array";
    default: return "object";
  }
}

export class JsonValue {
  kind: JsonKind;
  boolValue: bool = false;
  numberValue: f64 = 0;
  stringValue: string = "";
  /** Array elements, or object member values (parallel to `keys`). */
  items: JsonValue[] | null = null;
  /** Object member names in document order. */
  keys: string[] | null = null;
  private index: Map<string, i32> | null = null;

  constructor(kind: JsonKind) {
    this.kind = kind;
  }

  static newNull(): JsonValue {
    return new JsonValue(JsonKind.Null);
  }

  static newBool(b: bool): JsonValue {
    const v = new JsonValue(JsonKind.Bool);
    v.boolValue = b;
    return v;
  }

  static newNumber(n: f64): JsonValue {
    const v = new JsonValue(JsonKind.Number);
    v.numberValue = n;
    return v;
  }

  static newString(s: string): JsonValue {
    const v = new JsonValue(JsonKind.String);
    v.stringValue = s;
    return v;
  }

  static newArray(): JsonValue {
    const v = new JsonValue(JsonKind.Array);
    v.items = [];
    return v;
  }

  static newObject(): JsonValue {
    const v = new JsonValue(JsonKind.Object);
    v.items = [];
    v.keys = [];
    return v;
  }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isString(): bool { return this.kind == JsonKind.String; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isObject(): bool { return this.kind == JsonKind.Object; }

  /** "null" | "bool" | "number" | "string" | "array" | "object" — for error messages. */
  kindName(): string { return jsonKindName(this.kind); }

  /** Element count of an array, member count of an object, 0 otherwise. */
  get length(): i32 {
    const items = this.items;
    return items ? items.length : 0;
  }

  /** Array element (or object member value) at position i, or null when out of range. */
  at(i: i32): JsonValue | null {
    const items = this.items;
    if (!items || i < 0 || i >= items.length) return null;
    return unchecked(items[i]);
  }

  /** Object member name at position i ("" when not an object or out of range). */
  keyAt(i: i32): string {
    const keys = this.keys;
    if (!keys || i < 0 || i >= keys.length) return "";
    return unchecked(keys[i]);
  }

  /** Position of member `key` in an object, or -1. */
  indexOf(key: string): i32 {
    const keys = this.keys;
    if (!keys) return -1;
    const index = this.index;
    if (index) return index.has(key) ? index.get(key) : -1;
    for (let i = 0, n = keys.length; i < n; i++) {
      if (unchecked(keys[i]) == key) return i;
    }
    return -1;
  }

  has(key: string): bool {
    return this.indexOf(key) >= 0;
  }

  /** Member value of an object, or null when absent (or when this is not an object). */
  get(key: string): JsonValue | null {
    const i = this.indexOf(key);
    return i < 0 ? null : unchecked(this.items![i]);
  }

  /** String member, or `def` when absent or not a string. */
  getString(key: string, def: string = ""): string {
    const v = this.get(key);
    return v && v.kind == JsonKind.String ? v.stringValue : def;
  }

  /** Number member, or `def` when absent or not a number. */
  getNumber(key: string, def: f64 = 0): f64 {
    const v = this.get(key);
    return v && v.kind == JsonKind.Number ? v.numberValue : def;
  }

  /** Bool member, or `def` when absent or not a bool. */
  getBool(key: string, def: bool = false): bool {
    const v = this.get(key);
    return v && v.kind == JsonKind.Bool ? v.boolValue : def;
  }

  /** Array member's elements, or null when absent or not an array. */
  getArray(key: string): JsonValue[] | null {
    const v = this.get(key);
    return v && v.kind == JsonKind.Array ? v.items : null;
  }

  /** Object member, or null when absent or not an object. */
  getObject(key: string): JsonValue | null {
    const v = this.get(key);
    return v && v.kind == JsonKind.Object ? v : null;
  }

  /** Append to an array. */
  push(v: JsonValue): JsonValue {
    assert(this.kind == JsonKind.Array, "JsonValue.push on a non-array");
    this.items!.push(v);
    return this;
  }

  /** Set an object member: replaces an existing member in place, else appends. */
  set(key: string, v: JsonValue): JsonValue {
    assert(this.kind == JsonKind.Object, "JsonValue.set on a non-object");
    const i = this.indexOf(key);
    if (i >= 0) unchecked((this.items![i] = v));
    else this.appendMember(key, v);
    return this;
  }

  /** Append a member without checking for an existing one (the parser checks itself). */
  appendMember(key: string, v: JsonValue): void {
    const keys = this.keys!;
    const pos = keys.length;
    keys.push(key);
    this.items!.push(v);
    let index = this.index;
    if (index) {
      index.set(key, pos);
    } else if (pos + 1 > INDEX_THRESHOLD) {
      index = new Map<string, i32>();
      for (let i = 0; i <= pos; i++) index.set(unchecked(keys[i]), i);
      this.index = index;
    }
  }
}
