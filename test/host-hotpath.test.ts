// The host's hot-path machinery: bounds checks against cached views of a real WebAssembly.Memory
// (refreshed after memory.grow, shared or not), interned decoding of guest strings (must equal a
// plain decode for any bytes, offsets and folds, even when guest memory is rewritten in place), a
// guest whose memory grows inside the host's own mallocs, and the stream's start clocks.
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { GuestMemoryError } from "../wasm/host/errors.js";
import { FOLD_LOWER, FOLD_NONE, FOLD_NUL_TO_DOT, type Fold, internUtf8 } from "../wasm/host/intern.js";
import { GuestMemory } from "../wasm/host/memory.js";
import { IdTable } from "../wasm/host/id-table.js";
import { serializePairs } from "../wasm/host/index.js";
import { header, loadProbe, probeRequest, type Probe } from "./helpers/host-probe.js";

const PAGE = 65536;

function reference(bytes: Uint8Array, mode: Fold): string {
  const s = new TextDecoder().decode(bytes);
  if (mode === FOLD_LOWER) return s.toLowerCase();
  if (mode === FOLD_NUL_TO_DOT) return s.replaceAll("\0", ".");
  return s;
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

describe("GuestMemory bounds checks", () => {
  it("accepts ranges inside memory, rejects the rest, and treats pointers as unsigned", () => {
    const mem = new GuestMemory(new WebAssembly.Memory({ initial: 1 }));
    expect(mem.check(0, 0)).toBe(0);
    expect(mem.check(PAGE - 4, 4)).toBe(PAGE - 4);
    expect(mem.check(PAGE, 0)).toBe(PAGE);
    expect(() => mem.check(PAGE - 3, 4)).toThrow(GuestMemoryError);
    expect(() => mem.check(PAGE + 1, 0)).toThrow(GuestMemoryError);
    expect(() => mem.check(-1, 1)).toThrow(GuestMemoryError); // 0xffffffff
    expect(() => mem.check(16, -1)).toThrow(GuestMemoryError); // length 0xffffffff
    expect(() => mem.getU32(PAGE - 2)).toThrow(GuestMemoryError);
    expect(() => mem.string(PAGE - 1, 2)).toThrow(GuestMemoryError);
  });

  for (const shared of [false, true]) {
    it(`sees memory.grow between accesses (${shared ? "shared" : "non-shared"} memory)`, () => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared });
      const mem = new GuestMemory(memory);
      mem.setU32(8, 0xdeadbeef);
      expect(() => mem.setU32(PAGE + 8, 1)).toThrow(GuestMemoryError);
      memory.grow(2);
      // The range that was out of bounds is now valid, and old data is still read correctly.
      mem.setU32(PAGE + 8, 0x01020304);
      expect(mem.getU32(PAGE + 8)).toBe(0x01020304);
      expect(new DataView(memory.buffer).getUint32(PAGE + 8, true)).toBe(0x01020304);
      expect(mem.getU32(8)).toBe(0xdeadbeef);
      mem.write(3 * PAGE - 3, new Uint8Array([0x68, 0x69, 0x21]));
      expect(mem.string(3 * PAGE - 3, 3)).toBe("hi!");
      expect(mem.bytes().length).toBe(3 * PAGE);
      expect(() => mem.check(3 * PAGE - 2, 3)).toThrow(GuestMemoryError);
    });
  }

  it("writes 64-bit values after a grow into the new buffer", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const mem = new GuestMemory(memory);
    mem.setU64(0, 1n);
    memory.grow(1);
    mem.setU64(PAGE + 8, (1n << 63n) + 5n);
    expect(new DataView(memory.buffer).getBigUint64(PAGE + 8, true)).toBe((1n << 63n) + 5n);
    expect(() => mem.setU64(2 * PAGE - 4, 0n)).toThrow(GuestMemoryError);
  });

  it("decodes paths: NUL-separated segments joined by dots, trailing NULs ignored", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const mem = new GuestMemory(memory);
    const put = (at: number, s: string) => new Uint8Array(memory.buffer).set(new TextEncoder().encode(s), at);
    put(100, "request\0headers\0x-a\0\0");
    expect(mem.path(100, 22)).toBe("request.headers.x-a");
    put(200, "\0\0");
    expect(mem.path(200, 2)).toBe("");
    put(300, "a\0\0b");
    expect(mem.path(300, 4)).toBe("a..b");
    put(400, "caf\u00e9\0x");
    expect(mem.path(400, 7)).toBe("caf\u00e9.x");
  });
});

describe("interned decoding", () => {
  const byteArb = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 0x41, 0x5a, 0x80, 0xc3, 0xa9, 0xe2, 0xff) },
  );

  it("equals a plain decode for any bytes, offset and fold, including cache hits", () => {
    const buffer = new ArrayBuffer(4096);
    const u8 = new Uint8Array(buffer);
    const words = new Uint32Array(buffer);
    fc.assert(
      fc.property(
        fc.array(byteArb, { maxLength: 200 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.constantFrom<Fold>(FOLD_NONE, FOLD_LOWER, FOLD_NUL_TO_DOT),
        fc.boolean(),
        (bytes, at, mode, withWords) => {
          const data = Uint8Array.from(bytes);
          u8.set(data, at);
          const expected = reference(data, mode);
          // Twice: a miss that fills the slot, then a hit.
          expect(internUtf8(u8, withWords ? words : null, at, at + data.length, mode)).toBe(expected);
          expect(internUtf8(u8, withWords ? words : null, at, at + data.length, mode)).toBe(expected);
          // A subarray view (as parsePairs hands over) gives the same answer without the word path.
          expect(internUtf8(u8.subarray(at, at + data.length), null, 0, data.length, mode)).toBe(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("never answers from the cache for bytes rewritten in place (guest memory reused)", () => {
    const buffer = new ArrayBuffer(1024);
    const u8 = new Uint8Array(buffer);
    const words = new Uint32Array(buffer);
    const enc = new TextEncoder();
    for (const at of [64, 65, 66, 67]) {
      u8.set(enc.encode("x-envoy-upstream-rq-timeout-ms"), at);
      expect(internUtf8(u8, words, at, at + 30, FOLD_NONE)).toBe("x-envoy-upstream-rq-timeout-ms");
      // Same length, same sampled bytes except one in the middle: must not be the cached string.
      u8[at + 13] = "X".charCodeAt(0);
      expect(internUtf8(u8, words, at, at + 30, FOLD_NONE)).toBe("x-envoy-upstrXam-rq-timeout-ms");
      expect(internUtf8(u8, words, at, at + 30, FOLD_LOWER)).toBe("x-envoy-upstrxam-rq-timeout-ms");
      u8[at + 29] = 0xe9; // now invalid UTF-8 at the end
      expect(internUtf8(u8, words, at, at + 30, FOLD_NONE)).toBe("x-envoy-upstrXam-rq-timeout-m\ufffd");
    }
  });

  it("keeps folds apart: the same bytes give each mode its own string", () => {
    const u8 = new TextEncoder().encode("Request\0Path");
    expect(internUtf8(u8, null, 0, u8.length, FOLD_NONE)).toBe("Request\0Path");
    expect(internUtf8(u8, null, 0, u8.length, FOLD_LOWER)).toBe("request\0path");
    expect(internUtf8(u8, null, 0, u8.length, FOLD_NUL_TO_DOT)).toBe("Request.Path");
    expect(internUtf8(u8, null, 0, u8.length, FOLD_NONE)).toBe("Request\0Path");
  });

  it("stays right when far more distinct strings than slots go through it", () => {
    const enc = new TextEncoder();
    const names = Array.from({ length: 5000 }, (_, i) => `x-header-${i.toString(36)}-${"v".repeat(i % 90)}`);
    for (let round = 0; round < 2; round++) {
      for (const name of names) {
        const b = enc.encode(name.toUpperCase());
        expect(internUtf8(b, null, 0, b.length, FOLD_LOWER)).toBe(name);
      }
    }
  });
});

describe("through the probe guest", () => {
  let probe: Probe;
  afterEach(async () => {
    await probe?.plugin.close();
  });

  it("reads request.time as the stream's creation time when the embedder gives none", async () => {
    probe = await loadProbe();
    const before = Date.now();
    const stream = probe.plugin.createStream({});
    const after = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    const headers = probeRequest("props", [["x-props", "request.time,request.duration"]]);
    await stream.onRequestHeaders(headers, true);
    const hex = header(headers, "x-prop-request.time")!;
    const ms = Number(Buffer.from(hex, "hex").readBigInt64LE() / 1_000_000n);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
    const durationNs = Buffer.from(header(headers, "x-prop-request.duration")!, "hex").readBigInt64LE();
    expect(durationNs).toBeGreaterThanOrEqual(15_000_000n);
    stream.done();
  });

  it("writes large header maps and values into memory the guest grew inside the host's malloc", async () => {
    probe = await loadProbe();
    const big = "x".repeat(300_000) + "\u00e9\u20ac\u{1F600}".repeat(2000) + "tail";
    const headers = probeRequest("grow", [["x-big", big]]);
    const expectedPairs = serializePairs(headers.map(([k, v]) => [k, v] as [string, string]));
    const expectedValue = new TextEncoder().encode(big);
    const stream = probe.plugin.createStream();
    expect(await stream.onRequestHeaders(headers, true)).toEqual({ kind: "continue" });
    expect(header(headers, "x-probe-result")).toBe(
      `grew 0 ${expectedPairs.length} ${fnv1a(expectedPairs)} ${expectedValue.length} ${fnv1a(expectedValue)}`,
    );
    stream.done();
    // The VM stays healthy for the next stream.
    const next = probe.plugin.createStream();
    expect(await next.onRequestHeaders(probeRequest("none"), true)).toEqual({ kind: "continue" });
    next.done();
    expect(probe.logs.filter(([l]) => l === "error")).toEqual([]);
  });
});

// The synchronous stream API (decode*/encode*) is what gateway/hcm.ts runs the filter chain with: a filter that
// answers at once costs no promise and no microtask. It must give the same outcomes as on*, and a promise only
// when the guest paused the stream.
describe("synchronous stream callbacks (decode*/encode*)", () => {
  let probe: Probe;
  afterEach(async () => {
    await probe?.plugin.close();
  });

  it("answer continue and local responses without a promise, the same as on*", async () => {
    probe = await loadProbe();
    const s = probe.plugin.createStream({});
    const cont = s.decodeHeaders(probeRequest("none"), false);
    expect(cont).not.toBeInstanceOf(Promise);
    expect(cont).toEqual({ kind: "continue" });
    const body = new TextEncoder().encode("abc");
    const data = s.decodeData(body, true);
    expect(data).not.toBeInstanceOf(Promise);
    expect(data).toEqual({ kind: "continue", body });
    const resp = s.encodeHeaders([[":status", "200"]], true);
    expect(resp).toEqual({ kind: "continue" });
    s.done();

    const viaSync = probe.plugin.createStream({});
    const local = viaSync.decodeHeaders(probeRequest("local"), true);
    expect(local).not.toBeInstanceOf(Promise);
    const viaPromise = probe.plugin.createStream({});
    expect(await viaPromise.onRequestHeaders(probeRequest("local"), true)).toEqual(local);
    expect(local).toMatchObject({ kind: "local_response", status: 418, details: "probe_teapot" });
    viaSync.done();
    viaPromise.done();
  });

  it("return a promise when the guest pauses, settled by continue_stream", async () => {
    probe = await loadProbe();
    const s = probe.plugin.createStream({});
    const headers = probeRequest("pause");
    const paused = s.decodeHeaders(headers, true);
    expect(paused).toBeInstanceOf(Promise);
    expect(await paused).toEqual({ kind: "continue" });
    expect(header(headers, "x-resumed-by")).toBe("tick");
    s.done();
  });

  it("on* of a continuing filter share one settled promise (no allocation per callback)", async () => {
    probe = await loadProbe();
    const a = probe.plugin.createStream({});
    const b = probe.plugin.createStream({});
    const pa = a.onRequestHeaders(probeRequest("none"), true);
    expect(b.onRequestHeaders(probeRequest("none"), true)).toBe(pa);
    expect(await pa).toEqual({ kind: "continue" });
    a.done();
    b.done();
  });

  it("keeps the embedder's response info without copying it, and merges later calls into a copy", async () => {
    probe = await loadProbe();
    const s = probe.plugin.createStream({});
    const info = { code: 200, codeDetails: "via_upstream", flags: [] as string[] };
    s.setResponseInfo(info);
    s.setResponseInfo({ upstreamAddress: "10.0.0.1:80" });
    expect(info).toEqual({ code: 200, codeDetails: "via_upstream", flags: [] }); // the caller's object is untouched
    const headers = probeRequest("props", [["x-props", "response.code,upstream.address"]]);
    await s.onRequestHeaders(headers, true);
    expect(Buffer.from(header(headers, "x-prop-response.code")!, "hex").readBigInt64LE()).toBe(200n);
    expect(Buffer.from(header(headers, "x-prop-upstream.address")!, "hex").toString()).toBe("10.0.0.1:80");
    s.done();
  });
});

// The VM's per-request registries (contexts, http call cancels, deferred done) are IdTables, not Maps: a Map
// churned by set/delete per request is rehashed every few dozen entries, and each replaced backing store keeps
// pointing at its successor; once one is promoted, that chain kept every stream alive through scavenges (the
// in-process HCM with 32 requests in flight cost ~3x more per request). The table must behave like a Map.
describe("IdTable (per-VM registries by increasing u32 id)", () => {
  it("answers like a Map for any sequence of set/delete/get over increasing ids, through growth", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("add", "add", "delete", "deleteOld", "get"), fc.nat(1000)), { maxLength: 600 }),
        fc.constantFrom(0, 2 ** 31 - 40, 2 ** 32 - 700),
        (ops, base) => {
          const table = new IdTable<string>(8);
          const ref = new Map<number, string>();
          let next = base + 1;
          for (const [op, n] of ops) {
            const live = [...ref.keys()];
            if (op === "add") {
              const id = next++;
              table.set(id, `v${id}`);
              ref.set(id, `v${id}`);
            } else if (op === "delete" || op === "deleteOld") {
              const id = live.length === 0 || op === "delete" ? base + 1 + (n % Math.max(1, next - base)) : live[0]!;
              expect(table.delete(id)).toBe(ref.delete(id));
            } else {
              const id = base + 1 + (n % Math.max(1, next - base));
              expect(table.get(id)).toBe(ref.get(id));
              expect(table.has(id)).toBe(ref.has(id));
            }
            expect(table.size).toBe(ref.size);
          }
          for (const id of ref.keys()) expect(table.get(id)).toBe(ref.get(id));
          expect(table.values().sort()).toEqual([...ref.values()].sort());
          table.clear();
          expect(table.size).toBe(0);
          for (const id of ref.keys()) expect(table.get(id)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("backs the VM's contexts: streams come and go, the root stays", async () => {
    const probe = await loadProbe();
    try {
      for (let i = 0; i < 500; i++) {
        const streams = Array.from({ length: 40 }, () => probe.plugin.createStream({}));
        for (const s of streams) s.done();
      }
      const vm = (probe.plugin as unknown as { vm: { contexts: IdTable<unknown>; pendingCalls: IdTable<unknown>; awaitingDone: IdTable<unknown> } }).vm;
      expect(vm.contexts).toBeInstanceOf(IdTable);
      expect(vm.pendingCalls).toBeInstanceOf(IdTable);
      expect(vm.awaitingDone).toBeInstanceOf(IdTable);
      expect(vm.contexts.size).toBe(1);
      expect(vm.contexts.get(1)).toBeDefined();
    } finally {
      await probe.plugin.close();
    }
  });
});
