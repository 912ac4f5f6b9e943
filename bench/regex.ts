// Benchmark: engine/regex fullMatch on a typical Istio route regex, wasm vs JS RegExp vs re2js.
// Not part of `npm test`. Run (Node 20 has no TypeScript loader, so bundle first):
//   npx esbuild bench/regex.ts --bundle --platform=node --format=esm --packages=external \
//     --outfile=test/.build/bench-regex.mjs --log-level=warning && node test/.build/bench-regex.mjs
// Prints median µs per match over several timed batches.
import { RE2JS } from "re2js";
import { type RegexHandle, loadRegexEngine } from "../test/helpers/regex-wasm.js";

const BATCHES = 15;

function medianMicros(batchSize: number, run: (n: number) => void): number {
  run(batchSize); // warm-up (JIT tiers, lazy DFA states)
  const samples: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint();
    run(batchSize);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / batchSize);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function loop(n: number, f: () => unknown): void {
  for (let i = 0; i < n; i++) f();
}

async function main(): Promise<void> {
  const engine = await loadRegexEngine();
  const cases: [pattern: string, input: string][] = [
    ["/api/v[0-9]+/users/[^/]+", "/api/v1/users/12345"],
    ["/api/v[0-9]+/users/[^/]+", "/api/v2/orders/98765/items"],
    ["(?i)/static/.*\\.(js|css|png)", "/static/app/bundle.min.JS"],
    ["^/service/([^/]+)(/.*)$", "/service/reviews/v1/ratings/42"],
  ];
  const rows: Record<string, string | number>[] = [];
  for (const [pattern, input] of cases) {
    const compiled = engine.compile(pattern);
    if ("error" in compiled) throw new Error(compiled.error);
    const re: RegexHandle = compiled;
    const js = new RegExp(`^(?:${pattern.replace("(?i)", "")})$`, pattern.startsWith("(?i)") ? "i" : "");
    const ref = RE2JS.compile(pattern);
    const expected = js.test(input);
    if (re.fullMatch(input) !== expected || ref.matches(input) !== expected) throw new Error(`disagreement on ${pattern}`);
    const n = 20_000;
    rows.push({
      pattern,
      input,
      match: String(expected),
      "wasm DFA µs": +medianMicros(n, (k) => re.repeatFullMatch(input, k, false)).toFixed(3),
      "wasm Pike VM µs": +medianMicros(n, (k) => re.repeatFullMatch(input, k, true)).toFixed(3),
      "wasm captures µs": +medianMicros(n, (k) => re.repeatCaptures(input, k)).toFixed(3),
      "wasm from JS µs": +medianMicros(n / 4, (k) => loop(k, () => re.fullMatch(input))).toFixed(3),
      "JS RegExp µs": +medianMicros(n, (k) => loop(k, () => js.test(input))).toFixed(3),
      "re2js µs": +medianMicros(n / 4, (k) => loop(k, () => ref.matches(input))).toFixed(3),
    });
  }
  console.table(rows);
  console.log("wasm DFA / Pike VM / captures loop inside wasm (no JS boundary); 'wasm from JS' adds a string copy per call.");
}

await main();
