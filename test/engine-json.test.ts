import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type ASInstance, loadAS } from "./helpers/as.js";

let as: ASInstance;
// Arguments are pinned until the call's result has been read: the callee allocates, and an
// incremental collection would otherwise free them mid-call.
const pinned: number[] = [];
const pin = (ptr: number) => (pinned.push(as.exports.__pin(ptr)), ptr);
const str = (s: string) => pin(as.newString(s));
const bytes = (b: Uint8Array | string) => pin(as.newArrayBuffer(typeof b === "string" ? new TextEncoder().encode(b) : b));
const read = (p: number) => {
  const s = as.getString(p);
  while (pinned.length) as.exports.__unpin(pinned.pop());
  return s;
};

const roundTrip = (s: string) => read(as.exports.roundTrip(str(s)));
const numberOf = (s: string) => {
  const n = as.exports.numberOf(str(s)) as number;
  while (pinned.length) as.exports.__unpin(pinned.pop());
  return n;
};
const roundTripBytes = (b: Uint8Array | string) => read(as.exports.roundTripBytes(bytes(b)));
const errorOffset = (b: string) => {
  const at = as.exports.errorOffset(bytes(b)) as number;
  while (pinned.length) as.exports.__unpin(pinned.pop());
  return at;
};

beforeAll(async () => {
  as = await loadAS("test/fixtures/as/json.ts");
  // asc picks up the repo's asconfig.json (exportStart "_initialize"), so the module's start
  // function - which sets up the runtime and globals - has to be called explicitly.
  as.exports._initialize?.();
});

describe("engine/json parser", () => {
  it("parses every kind and keeps object key order", () => {
    expect(roundTrip('{"z":1,"a":[true,false,null],"m":{"k":"v"},"n":-12.5e-1}')).toBe(
      'ok:{"z":1,"a":[true,false,null],"m":{"k":"v"},"n":-1.25}',
    );
    expect(roundTrip("  [ ]  ")).toBe("ok:[]");
    expect(roundTrip("{}")).toBe("ok:{}");
    expect(roundTrip('"x"')).toBe('ok:"x"');
    expect(roundTrip("0")).toBe("ok:0");
    expect(roundTrip("-0.0")).toBe("ok:0");
    expect(roundTrip("9007199254740993")).toBe("ok:9007199254740992");
  });

  it("decodes escapes, surrogate pairs and multi-byte UTF-8", () => {
    expect(roundTrip('"a\\n\\t\\"\\\\\\/\\b\\f\\r\\u00e9\\ud83d\\ude00"')).toBe('ok:"a\\n\\t\\"\\\\/\\b\\f\\ré😀"');
    expect(roundTripBytes('{"héllo":"wörld 😀 ✓"}')).toBe('ok:{"héllo":"wörld 😀 ✓"}');
    // Lone surrogate escapes survive and are written back escaped.
    expect(roundTrip('"\\ud800x"')).toBe('ok:"\\ud800x"');
  });

  it("matches JSON.parse on arbitrary documents", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        const out = roundTripBytes(text);
        expect(out.startsWith("ok:"), out).toBe(true);
        expect(JSON.parse(out.slice(3))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it("parses numbers exactly like JSON.parse", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const text = JSON.stringify(d);
        expect(numberOf(text)).toBe(JSON.parse(text));
        // The writer's digits round-trip to the same double (they may not be the shortest form).
        const out = roundTrip(text);
        expect(out.startsWith("ok:")).toBe(true);
        expect(JSON.parse(out.slice(3))).toBe(JSON.parse(text));
      }),
      { numRuns: 2000 },
    );
    // Decimal strings that are not shortest representations (more digits, other exponents).
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 40n }), fc.integer({ min: -360, max: 320 }), (m, e) => {
        const text = `${m}e${e}`;
        expect(numberOf(text), text).toBe(JSON.parse(text));
      }),
      { numRuns: 2000 },
    );
    const hard = [
      "1e400", "-1e400", "1e-400", "2.2250738585072014e-308", "2.2250738585072011e-308", "5e-324", "0.1", "1E+2", "1e-2",
      "123456789012345678901234567890", "9007199254740993", "9007199254740995", "0.30000000000000004",
      "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
      "2.4703282292062327e-324", "2.4703282292062328e-324", "4.9406564584124654e-324",
      "8.2813113845627175e+40", "1" + "0".repeat(400) + "e-400", "0." + "0".repeat(300) + "1e300",
      "9007199254740992.5" + "0".repeat(900) + "1", "1e22", "1e23", "-0", "123.456e-310",
    ];
    for (const t of hard) {
      expect(numberOf(t), t).toBe(JSON.parse(t));
    }
  });

  it("rejects what JSON.parse rejects, with a message and byte offset", () => {
    const cases: Array<[string, string, number]> = [
      ["", "empty JSON document", 0],
      ["   ", "empty JSON document", 3],
      ["[1,]", "unexpected character, expected a value", 3],
      ['{"a":1,}', "expected a string member name in object", 7],
      ["{'a':1}", "expected a string member name in object", 1],
      ["01", "invalid number: leading zero", 1],
      ["1.", "invalid number: expected a digit after '.'", 2],
      ["1e", "invalid number: expected a digit in the exponent", 2],
      ["-", "invalid number: expected a digit", 1],
      ["+1", "unexpected character, expected a value", 0],
      ["NaN", "unexpected character, expected a value", 0],
      ["tru", "invalid literal, expected 'true'", 0],
      ["nul", "invalid literal, expected 'null'", 0],
      ['"abc', "unterminated string", 0],
      ['"a\tb"', "control character in string must be escaped", 2],
      ['"\\x"', "invalid escape character in string", 1],
      ['"\\u12g4"', "invalid \\u escape: expected 4 hex digits", 1],
      ["[1 2]", "expected ',' or ']' in array", 3],
      ['{"a" 1}', "expected ':' after member name", 5],
      ['{"a":1 "b":2}', "expected ',' or '}' in object", 7],
      ["[1] x", "unexpected data after the JSON value", 4],
      ["[", "unexpected end of input, expected a value", 1],
      ['{"a":1', "unterminated object, expected ',' or '}'", 6],
      ["/* c */ 1", "unexpected character, expected a value", 0],
    ];
    for (const [text, msg, at] of cases) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(roundTrip(text), text).toBe(`err:${msg} at byte ${at}`);
      expect(errorOffset(text), text).toBe(at);
    }
  });

  it("rejects duplicate member names (stricter than JSON.parse)", () => {
    expect(roundTrip('{"a":1,"a":2}')).toBe('err:duplicate member name "a" in object at byte 7');
  });

  it("rejects invalid UTF-8 inside strings", () => {
    const bad = [
      [0x22, 0xff, 0x22], // invalid lead byte
      [0x22, 0xc3, 0x22], // truncated sequence
      [0x22, 0xc0, 0xaf, 0x22], // overlong '/'
      [0x22, 0xed, 0xa0, 0x80, 0x22], // encoded surrogate
      [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], // > U+10FFFF
    ];
    for (const b of bad) expect(roundTripBytes(new Uint8Array(b))).toBe("err:invalid UTF-8 in string at byte 1");
  });

  it("bounds nesting depth instead of overflowing the stack", () => {
    expect(roundTrip("[".repeat(256) + "]".repeat(256))).toBe("ok:" + "[".repeat(256) + "]".repeat(256));
    expect(roundTrip("[".repeat(257) + "]".repeat(257))).toBe("err:nesting deeper than 256 levels at byte 256");
    expect(roundTrip('{"a":'.repeat(10000))).toMatch(/^err:nesting deeper than 256 levels/);
  });

  it("fails cleanly on every truncation of a valid document", () => {
    const doc = '{"name":"r\\u00e9","list":[1,-2.5e3,true,false,null,{"x":"😀"}]}';
    const enc = new TextEncoder().encode(doc);
    for (let n = 0; n < enc.length; n++) expect(roundTripBytes(enc.slice(0, n))).toMatch(/^err:.* at byte \d+$/);
  });
});

describe("engine/json helpers", () => {
  it("typed getters return values, defaults for absent or mistyped members", () => {
    const out = read(as.exports.lookups(str('{"name":"svc","port":8080,"tls":true,"tags":["a","b"],"meta":{"owner":"me"}}')));
    expect(out).toBe("kind=object name=svc port=8080.0 tls=true has(tags)=true tags=2 meta.owner=me keys=name,port,tls,tags,meta");
    const wrong = read(as.exports.lookups(str('{"name":1,"port":"x","tls":"yes","tags":{},"meta":[]}')));
    expect(wrong).toBe("kind=object name=? port=-1.0 tls=false has(tags)=true tags=none meta.owner=none keys=name,port,tls,tags,meta");
  });

  it("looks members up in large objects", () => {
    const obj: Record<string, number> = {};
    for (let i = 0; i < 100; i++) obj[`k${i}`] = i;
    const text = JSON.stringify(obj);
    for (const i of [0, 7, 8, 9, 50, 99]) expect(read(as.exports.getMember(str(text), str(`k${i}`)))).toBe(String(i));
    expect(read(as.exports.getMember(str(text), str("k100")))).toBe("absent");
    expect(roundTrip(text.slice(0, -1) + ',"k42":1}')).toBe(`err:duplicate member name "k42" in object at byte ${text.length}`);
  });
});

describe("engine/json writer", () => {
  it("escapes strings exactly like JSON.stringify", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(read(as.exports.quote(str(s)))).toBe(JSON.stringify(s));
      }),
      { numRuns: 500 },
    );
    const all = Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(i)).join("") + "\ud800\udc00\udc00";
    expect(read(as.exports.quote(str(all)))).toBe(JSON.stringify(all));
  });

  it("builds documents with JsonWriter and JsonValue.set/push", () => {
    const w = '{"status":403,"ratio":0.25,"ok":false,"none":null,"list":["a\\"b",1e+21,{}],"raw":[1,2]}';
    expect(read(as.exports.built())).toBe(`${w}|{"a":true,"b":["x"]}|${w}`);
    expect(JSON.parse(w).list[1]).toBe(1e21);
  });
});
