// Helpers for HeaderMap (lower-case [name, value] pairs, pseudo-headers included), shared by the HCM and router.
import type { HeaderMap } from "../wasm/host/index.js";

export function getHeader(h: HeaderMap, name: string): string | undefined {
  for (const [k, v] of h) if (k === name) return v;
  return undefined;
}

export function removeHeader(h: HeaderMap, name: string): void {
  for (let i = h.length - 1; i >= 0; i--) if (h[i]![0] === name) h.splice(i, 1);
}

export function setHeader(h: HeaderMap, name: string, value: string): void {
  const i = h.findIndex(([k]) => k === name);
  removeHeader(h, name);
  if (i >= 0 && i <= h.length) h.splice(i, 0, [name, value]);
  else h.push([name, value]);
}

// Connection-specific headers never cross a proxy hop (RFC 9110 7.6.1), plus any the Connection header names.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"]);

export function stripHopByHop(h: HeaderMap): void {
  const named = (getHeader(h, "connection") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const te = getHeader(h, "te");
  for (let i = h.length - 1; i >= 0; i--) {
    const k = h[i]![0];
    if (HOP_BY_HOP.has(k) || named.includes(k)) h.splice(i, 1);
  }
  // "TE: trailers" is the one TE value Envoy forwards.
  if (te !== undefined && te.split(",").some((v) => v.trim().toLowerCase() === "trailers")) h.push(["te", "trailers"]);
}

export function withoutPseudo(h: HeaderMap): HeaderMap {
  return h.filter(([k]) => !k.startsWith(":"));
}

export function fromWebHeaders(headers: Headers, into: HeaderMap = []): HeaderMap {
  headers.forEach((value, name) => {
    if (name === "set-cookie") return;
    into.push([name, value]);
  });
  for (const c of headers.getSetCookie()) into.push(["set-cookie", c]);
  return into;
}

export function toWebHeaders(h: HeaderMap): Headers {
  const out = new Headers();
  for (const [k, v] of h) if (!k.startsWith(":")) out.append(k, v);
  return out;
}
