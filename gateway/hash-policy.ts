// The route's hash_policy -> the request's hash for RING_HASH / MAGLEV, as Envoy computes it: xxHash64 of a header
// value, a cookie (generated, and set on the response, when absent and a ttl is configured), the downstream source
// IP, or a query parameter; several policies combine by rotate-left-1 then xor, a terminal one stops the walk.
// Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { HashPolicyConfig, SocketAddr } from "./bootstrap/types.js";
import { hex64, xxHash64 } from "./lb/xxhash64.js";

const M64 = (1n << 64n) - 1n;

export interface HashInput {
  headers: HeaderMap;
  path: string;
  remote: SocketAddr;
  local: SocketAddr;
}

export interface HashResult {
  hash?: bigint;
  /** Set-Cookie values to add to the response (cookie policies with a ttl). */
  setCookies: string[];
}

export function computeHash(policies: readonly HashPolicyConfig[], input: HashInput): HashResult {
  let hash: bigint | undefined;
  const setCookies: string[] = [];
  for (const p of policies) {
    const h = policyHash(p, input, setCookies);
    if (h === undefined) continue;
    hash = hash === undefined ? h : (((hash << 1n) | (hash >> 63n)) & M64) ^ h;
    if (p.terminal) break;
  }
  return hash === undefined ? { setCookies } : { hash, setCookies };
}

function policyHash(p: HashPolicyConfig, input: HashInput, setCookies: string[]): bigint | undefined {
  switch (p.kind) {
    case "header": {
      for (const [k, v] of input.headers) if (k === p.name) return xxHash64(v);
      return undefined;
    }
    case "query_parameter": {
      const v = queryParameter(input.path, p.name);
      return v === undefined ? undefined : xxHash64(v);
    }
    case "source_ip":
      return input.remote.address ? xxHash64(input.remote.address) : undefined;
    case "cookie": {
      const v = cookieValue(input.headers, p.name);
      if (v !== undefined) return xxHash64(v);
      if (p.ttlSeconds === undefined) return undefined;
      // Same value for every request of one downstream connection, as Envoy generates it.
      const value = hex64(xxHash64(`${addr(input.remote)}${addr(input.local)}`));
      setCookies.push(setCookieValue(p.name, value, p.path, p.ttlSeconds));
      return xxHash64(value);
    }
  }
}

function addr(a: SocketAddr): string {
  return a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** Envoy's makeSetCookieValue with httponly. */
export function setCookieValue(name: string, value: string, path: string, maxAgeSeconds: number): string {
  let out = `${name}="${value}"`;
  if (maxAgeSeconds !== 0) out += `; Max-Age=${maxAgeSeconds}`;
  if (path) out += `; Path=${path}`;
  return `${out}; HttpOnly`;
}

function cookieValue(headers: HeaderMap, name: string): string | undefined {
  for (const [k, v] of headers) {
    if (k !== "cookie") continue;
    for (const part of v.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      let value = part.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
  }
  return undefined;
}

function queryParameter(path: string, name: string): string | undefined {
  const q = path.indexOf("?");
  if (q < 0) return undefined;
  const end = path.indexOf("#", q);
  for (const part of path.slice(q + 1, end < 0 ? undefined : end).split("&")) {
    const eq = part.indexOf("=");
    if ((eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? "" : part.slice(eq + 1);
  }
  return undefined;
}
