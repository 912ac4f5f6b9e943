// The per-request matching loops over raw pointers into the compiled configuration (the leaf
// matchers they call, *MatchRaw / cidrContainsRaw, live next to their types).
//
// Why: under AssemblyScript's incremental GC every function that keeps a managed reference in a
// local across a call gets a shadow-stack frame that is zero-filled on entry; with the matchers
// inlined into one function that frame grew past 1.6 KB per rule. Here locals are plain usize
// read with load<>() at the compiled classes' field offsets, so these loops need no frames.
// Safety: the configuration (and the request) stay reachable from their owners for the whole
// call, and the collector never moves objects.
import { ValueKind, ValueMatcher } from "./config";
import { cidrContainsRaw } from "./ip";
import { arrayAt, arrayLength, ptrField, rawLength } from "./layout";
import { templateMatchRaw } from "./path_template";
import { stringMatchRaw } from "./string_match";

// ---- OR over a condition's value list (list = ValueMatcher[]) ----

export function anyString(list: usize, s: usize): bool {
  if (!s) return false;
  const sn = rawLength(s);
  for (let i = 0, n = arrayLength(list); i < n; i++) {
    if (stringMatchRaw(ptrField(arrayAt(list, i), offsetof<ValueMatcher>("str")), s, sn)) return true;
  }
  return false;
}

export function anyPath(list: usize, s: usize): bool {
  const sn = rawLength(s);
  for (let i = 0, n = arrayLength(list); i < n; i++) {
    const m = arrayAt(list, i);
    if (load<i32>(m + offsetof<ValueMatcher>("kind")) == ValueKind.Template) {
      if (templateMatchRaw(ptrField(m, offsetof<ValueMatcher>("template")), s, sn)) return true;
    } else if (stringMatchRaw(ptrField(m, offsetof<ValueMatcher>("str")), s, sn)) {
      return true;
    }
  }
  return false;
}

export function anyCidr(list: usize, ip: usize): bool {
  if (!ip) return false;
  for (let i = 0, n = arrayLength(list); i < n; i++) {
    if (cidrContainsRaw(ptrField(arrayAt(list, i), offsetof<ValueMatcher>("cidr")), ip)) return true;
  }
  return false;
}

export function anyPort(list: usize, port: i64): bool {
  if (port < 0) return false;
  for (let i = 0, n = arrayLength(list); i < n; i++) {
    if (<i64>load<i32>(arrayAt(list, i) + offsetof<ValueMatcher>("port")) == port) return true;
  }
  return false;
}
