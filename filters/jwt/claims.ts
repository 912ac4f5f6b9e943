// Claim values as output_claim_to_headers writes them, following Envoy's claim_to_headers: strings
// as they are, booleans "true"/"false", numbers as an integer when they are a whole non-negative
// value below 2^64 and otherwise as C++ std::to_string(double) prints them ("%f"), objects and
// arrays as standard base64 of their JSON. Nested claims are addressed with dots.
import { JsonKind, JsonValue, stringifyJson } from "../../engine/json/index";

/** The header value for the claim at `path`, or "" when it is absent, null or empty (no header then). */
export function claimHeaderValue(claims: JsonValue, path: string[]): string {
  let v: JsonValue | null = claims;
  for (let i = 0; i < path.length; i++) {
    if (v === null || !v.isObject()) return "";
    v = v.get(unchecked(path[i]));
  }
  if (v === null) return "";
  switch (v.kind) {
    case JsonKind.String: return v.stringValue;
    case JsonKind.Bool: return v.boolValue ? "true" : "false";
    case JsonKind.Number: return claimNumberText(v.numberValue);
    case JsonKind.Object:
    case JsonKind.Array: return base64Std(Uint8Array.wrap(String.UTF8.encode(stringifyJson(v))));
  }
  return "";
}

const TWO_POW_64: f64 = 18446744073709551616.0;

export function claimNumberText(x: f64): string {
  if (x >= 0 && x < TWO_POW_64 && Math.trunc(x) == x) return (<u64>x).toString();
  return fixed6(x);
}

/** printf("%f", x): six decimals, rounded from the exact binary value. */
function fixed6(x: f64): string {
  // JSON numbers are always finite; kept total for other callers.
  if (isNaN(x)) return "nan";
  if (!isFinite(x)) return x < 0 ? "-inf" : "inf";
  const neg = x < 0 || (x == 0 && 1 / x < 0);
  const a = Math.abs(x);
  if (a >= 4503599627370496.0) return (neg ? "-" : "") + integerDigits(a) + ".000000"; // >= 2^52: no fraction bits
  let ip = Math.floor(a);
  const frac = a - ip; // exact: both parts fit the 53-bit mantissa
  let micros = fracMicros(frac);
  if (micros == 1000000) {
    micros = 0;
    ip += 1;
  }
  let f = micros.toString();
  while (f.length < 6) f = "0" + f;
  return (neg ? "-" : "") + integerDigits(ip) + "." + f;
}

/** round-half-even(frac * 10^6) for 0 <= frac < 1, exact: frac = m / 2^k and m * 10^6 < 2^73. */
function fracMicros(frac: f64): i64 {
  const bits = reinterpret<u64>(frac);
  const e = <i32>((bits >> 52) & 0x7ff);
  if (e == 0) return 0; // zero or subnormal: far below half a millionth
  const m = (bits & 0xfffffffffffff) | (<u64>1 << 52);
  const k = 1075 - e; // frac < 1 so k >= 53
  if (k > 73) return 0; // m * 10^6 < 2^73 <= 2^(k-1): below half
  // P = m * 10^6 as a 128-bit (hi, lo) pair.
  const mid = (m >> 32) * 1000000;
  const lowPart = (m & 0xffffffff) * 1000000;
  let lo = mid << 32;
  let hi = mid >> 32;
  const sum = lo + lowPart;
  if (sum < lo) hi++;
  lo = sum;
  // q2 = P >> (k - 1): the quotient with one extra bit that says "at least half".
  const s = k - 1;
  const q2 = s >= 64 ? hi >> <u64>(s - 64) : (hi << <u64>(64 - s)) | (lo >> <u64>s);
  const sticky = s >= 64 ? (lo != 0 || (hi & ((<u64>1 << <u64>(s - 64)) - 1)) != 0) : (lo & ((<u64>1 << <u64>s) - 1)) != 0;
  let q = q2 >> 1;
  if ((q2 & 1) != 0 && (sticky || (q & 1) != 0)) q++;
  return <i64>q;
}

/** Decimal digits of a non-negative integral double (exact, any magnitude). */
function integerDigits(a: f64): string {
  if (a < TWO_POW_64) return (<u64>a).toString();
  // a = mantissa * 2^exp exactly; multiply out in base 10^9 limbs.
  const bits = reinterpret<u64>(a);
  const exp = <i32>((bits >> 52) & 0x7ff) - 1075;
  const mantissa = (bits & 0xfffffffffffff) | (<u64>1 << 52);
  const limbs: u64[] = [mantissa % 1000000000, (mantissa / 1000000000) % 1000000000, mantissa / 1000000000000000000];
  for (let e = 0; e < exp; e++) {
    let carry: u64 = 0;
    for (let i = 0; i < limbs.length; i++) {
      const v = limbs[i] * 2 + carry;
      limbs[i] = v % 1000000000;
      carry = v / 1000000000;
    }
    if (carry) limbs.push(carry);
  }
  let top = limbs.length - 1;
  while (top > 0 && limbs[top] == 0) top--;
  let out = limbs[top].toString();
  for (let i = top - 1; i >= 0; i--) {
    let s = limbs[i].toString();
    while (s.length < 9) s = "0" + s;
    out += s;
  }
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** RFC 4648 section 4 base64 with padding (what Envoy's Base64::encode produces). */
export function base64Std(data: Uint8Array): string {
  const n = data.length;
  const out = new Uint8Array(((n + 2) / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 3 <= n; i += 3) {
    const v = (<u32>unchecked(data[i]) << 16) | (<u32>unchecked(data[i + 1]) << 8) | <u32>unchecked(data[i + 2]);
    unchecked((out[o++] = <u8>B64.charCodeAt((v >> 18) & 63)));
    unchecked((out[o++] = <u8>B64.charCodeAt((v >> 12) & 63)));
    unchecked((out[o++] = <u8>B64.charCodeAt((v >> 6) & 63)));
    unchecked((out[o++] = <u8>B64.charCodeAt(v & 63)));
  }
  const rem = n - i;
  if (rem > 0) {
    const v = (<u32>unchecked(data[i]) << 16) | (rem == 2 ? <u32>unchecked(data[i + 1]) << 8 : 0);
    unchecked((out[o++] = <u8>B64.charCodeAt((v >> 18) & 63)));
    unchecked((out[o++] = <u8>B64.charCodeAt((v >> 12) & 63)));
    unchecked((out[o++] = rem == 2 ? <u8>B64.charCodeAt((v >> 6) & 63) : 0x3d));
    unchecked((out[o++] = 0x3d));
  }
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>o);
}
