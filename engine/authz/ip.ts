// IPv4/IPv6 addresses and CIDR ranges for ipBlocks / remoteIpBlocks / source.ip / remote.ip /
// destination.ip. Addresses are 128-bit (hi, lo); IPv4 keeps its 32 bits in `lo` with v6 = false.
// IPv4-mapped IPv6 request addresses (::ffff:a.b.c.d, what dual-stack Node sockets report) are
// folded to IPv4 so a v4 block matches them.

const C_0: i32 = 0x30;
const C_9: i32 = 0x39;
const C_DOT: i32 = 0x2e;
const C_COLON: i32 = 0x3a;
const C_LBRACKET: i32 = 0x5b;

export class IpAddress {
  constructor(public v6: bool = false, public hi: u64 = 0, public lo: u64 = 0) {}

  set(v6: bool, hi: u64, lo: u64): IpAddress {
    this.v6 = v6;
    this.hi = hi;
    this.lo = lo;
    return this;
  }
}

/** A CIDR range with the host bits already cleared. */
export class CidrRange {
  constructor(public v6: bool, public hi: u64, public lo: u64, public prefixLen: i32) {}

  contains(ip: IpAddress): bool {
    return cidrContainsRaw(changetype<usize>(this), changetype<usize>(ip));
  }
}

/** CidrRange `c` contains IpAddress `ip`, over raw pointers (no calls, no managed locals). */
export function cidrContainsRaw(c: usize, ip: usize): bool {
  const v6 = load<bool>(c + offsetof<CidrRange>("v6"));
  if (load<bool>(ip + offsetof<IpAddress>("v6")) != v6) return false;
  const len = load<i32>(c + offsetof<CidrRange>("prefixLen"));
  const hi = load<u64>(ip + offsetof<IpAddress>("hi"));
  const lo = load<u64>(ip + offsetof<IpAddress>("lo"));
  if (!v6) return maskLow(lo, 32, len) == load<u64>(c + offsetof<CidrRange>("lo"));
  if (len <= 64) return maskHigh(hi, len) == load<u64>(c + offsetof<CidrRange>("hi"));
  return hi == load<u64>(c + offsetof<CidrRange>("hi")) && maskHigh(lo, len - 64) == load<u64>(c + offsetof<CidrRange>("lo"));
}

/** Keeps the top `len` bits of a 64-bit word. */
@inline function maskHigh(w: u64, len: i32): u64 {
  if (len <= 0) return 0;
  if (len >= 64) return w;
  return w & ~((<u64>-1) >>> (<u64>len));
}

/** Keeps the top `len` bits of a `width`-bit value stored in the low bits of `w`. */
@inline function maskLow(w: u64, width: i32, len: i32): u64 {
  if (len <= 0) return 0;
  if (len >= width) return w;
  const hostBits = <u64>(width - len);
  return (w >>> hostBits) << hostBits;
}

@inline function code(s: string, i: i32): i32 {
  return <i32>load<u16>(changetype<usize>(s) + (<usize>i << 1));
}

function hexDigit(c: i32): i32 {
  if (c >= C_0 && c <= C_9) return c - C_0;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Dotted-quad in s[start, end); -1 on any error (leading zeros other than "0" are rejected). */
function parseV4(s: string, start: i32, end: i32): i64 {
  let value: i64 = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    if (i >= end) return -1;
    let n = 0;
    let digits = 0;
    const first = code(s, i);
    while (i < end) {
      const c = code(s, i);
      if (c < C_0 || c > C_9) break;
      n = n * 10 + (c - C_0);
      digits++;
      if (digits > 3 || n > 255) return -1;
      i++;
    }
    if (digits == 0 || (digits > 1 && first == C_0)) return -1;
    value = (value << 8) | n;
    parts++;
    if (parts < 4) {
      if (i >= end || code(s, i) != C_DOT) return -1;
      i++;
    }
  }
  return i == end ? value : -1;
}

/** RFC 4291 text form in s[start, end) (with "::" and an optional trailing dotted quad). */
function parseV6(s: string, start: i32, end: i32): IpAddress | null {
  const groups = new StaticArray<u32>(8);
  let count = 0;
  let gap = -1; // group index where "::" sits
  let i = start;
  if (i + 1 < end && code(s, i) == C_COLON && code(s, i + 1) == C_COLON) {
    gap = 0;
    i += 2;
    if (i == end) return finishV6(groups, count, gap);
  } else if (i < end && code(s, i) == C_COLON) {
    return null;
  }
  while (i < end) {
    if (count == 8) return null;
    // A trailing IPv4 part takes two groups.
    let j = i;
    while (j < end && code(s, j) != C_COLON && code(s, j) != C_DOT) j++;
    if (j < end && code(s, j) == C_DOT) {
      if (count > 6) return null;
      const v4 = parseV4(s, i, end);
      if (v4 < 0) return null;
      groups[count++] = <u32>((v4 >> 16) & 0xffff);
      groups[count++] = <u32>(v4 & 0xffff);
      i = end;
      break;
    }
    let n: u32 = 0;
    let digits = 0;
    while (i < end) {
      const d = hexDigit(code(s, i));
      if (d < 0) break;
      n = (n << 4) | <u32>d;
      digits++;
      if (digits > 4) return null;
      i++;
    }
    if (digits == 0) return null;
    groups[count++] = n;
    if (i == end) break;
    if (code(s, i) != C_COLON) return null;
    i++;
    if (i < end && code(s, i) == C_COLON) {
      if (gap >= 0) return null;
      gap = count;
      i++;
      if (i == end) break;
    } else if (i == end) {
      return null; // trailing single ':'
    }
  }
  return finishV6(groups, count, gap);
}

function finishV6(groups: StaticArray<u32>, count: i32, gap: i32): IpAddress | null {
  if (gap < 0 && count != 8) return null;
  if (gap >= 0 && count > 7) return null;
  const full = new StaticArray<u32>(8);
  if (gap < 0) {
    for (let k = 0; k < 8; k++) full[k] = groups[k];
  } else {
    const tail = count - gap;
    for (let k = 0; k < gap; k++) full[k] = groups[k];
    for (let k = 0; k < tail; k++) full[8 - tail + k] = groups[gap + k];
  }
  let hi: u64 = 0;
  let lo: u64 = 0;
  for (let k = 0; k < 4; k++) hi = (hi << 16) | <u64>full[k];
  for (let k = 4; k < 8; k++) lo = (lo << 16) | <u64>full[k];
  return new IpAddress(true, hi, lo);
}

/** Parses an IPv4 or IPv6 literal in s[start, end) (no brackets, no zone). */
function parseIpRange(s: string, start: i32, end: i32): IpAddress | null {
  if (start >= end) return null;
  for (let i = start; i < end; i++) {
    if (code(s, i) == C_COLON) return parseV6(s, start, end);
  }
  const v4 = parseV4(s, start, end);
  return v4 < 0 ? null : new IpAddress(false, 0, <u64>v4);
}

/** A literal address (config side: no port, no brackets, no zone). */
export function parseIp(s: string): IpAddress | null {
  return parseIpRange(s, 0, s.length);
}

/** "10.0.0.0/8", "2001:db8::/32" or a single address (/32, /128). Null when malformed. */
export function parseCidr(s: string): CidrRange | null {
  const slash = s.indexOf("/");
  const ip = parseIpRange(s, 0, slash < 0 ? s.length : slash);
  if (!ip) return null;
  const width = ip.v6 ? 128 : 32;
  let len = width;
  if (slash >= 0) {
    const digits = s.length - slash - 1;
    if (digits < 1 || digits > 3) return null;
    len = 0;
    for (let i = slash + 1; i < s.length; i++) {
      const c = code(s, i);
      if (c < C_0 || c > C_9) return null;
      len = len * 10 + (c - C_0);
    }
    if (digits > 1 && code(s, slash + 1) == C_0) return null;
    if (len > width) return null;
  }
  if (!ip.v6) return new CidrRange(false, 0, maskLow(ip.lo, 32, len), len);
  if (len <= 64) return new CidrRange(true, maskHigh(ip.hi, len), 0, len);
  return new CidrRange(true, ip.hi, maskHigh(ip.lo, len - 64), len);
}

/**
 * A request-side address as Envoy attributes carry it: "1.2.3.4:80", "[::1]:80", or a bare
 * address (a zone suffix "%eth0" is dropped). IPv4-mapped IPv6 folds to IPv4. Null if unparsable.
 */
export function parseSocketAddress(s: string): IpAddress | null {
  const out = new IpAddress();
  return parseSocketAddressInto(s, out) ? out : null;
}

/** parseSocketAddress without allocating: fills `out`; false when unparsable. */
export function parseSocketAddressInto(s: string, out: IpAddress): bool {
  const n = s.length;
  if (n == 0) return false;
  let start = 0;
  let end = n;
  if (code(s, 0) == C_LBRACKET) {
    const close = s.indexOf("]");
    if (close < 0) return false;
    start = 1;
    end = close;
  } else {
    let colons = 0;
    let lastColon = -1;
    for (let i = 0; i < n; i++) {
      if (code(s, i) == C_COLON) {
        colons++;
        lastColon = i;
      }
    }
    if (colons == 1) end = lastColon; // "ip:port"
    if (colons == 0 || colons == 1) {
      // The common case, IPv4: no allocation at all.
      const v4 = parseV4(s, start, end);
      if (v4 < 0) return false;
      out.set(false, 0, <u64>v4);
      return true;
    }
  }
  const zone = s.indexOf("%", start);
  if (zone >= 0 && zone < end) end = zone;
  const ip = parseIpRange(s, start, end);
  if (!ip) return false;
  if (ip.v6 && ip.hi == 0 && (ip.lo >>> 32) == 0xffff) out.set(false, 0, ip.lo & 0xffffffff);
  else out.set(ip.v6, ip.hi, ip.lo);
  return true;
}
