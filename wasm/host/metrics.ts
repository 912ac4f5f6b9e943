// Metrics defined by guests (proxy_define_metric & co) and by the embedder, shared across plugins.
// Semantics follow Envoy's wasm host: counters only go up, record() on a counter raises it to the
// value, gauges are set/added, histograms collect samples and cannot be read back by the guest.
import { MetricType, WasmResult } from "./abi.js";

export type MetricKind = "counter" | "gauge" | "histogram";

export interface MetricSample {
  name: string;
  type: MetricKind;
  tags: Record<string, string>;
  /** Counter/gauge value; for a histogram the number of samples. */
  value: number;
  /** Histograms only. */
  sum?: number;
  min?: number;
  max?: number;
}

interface Metric {
  name: string;
  type: MetricKind;
  tags: Record<string, string>;
  value: bigint;
  sum: bigint;
  min: bigint;
  max: bigint;
}

const KIND_BY_ABI: Record<number, MetricKind | undefined> = {
  [MetricType.Counter]: "counter",
  [MetricType.Gauge]: "gauge",
  [MetricType.Histogram]: "histogram",
};

export function metricKindFromAbi(type: number): MetricKind | undefined {
  return KIND_BY_ABI[type];
}

export class MetricsRegistry {
  private readonly byId: Metric[] = [];
  private readonly byKey = new Map<string, number>();

  /** Returns the metric id; defining the same (type, name, tags) again returns the same id. */
  define(type: MetricKind, name: string, tags: Record<string, string> = {}): number {
    const key = `${type}\u0000${name}\u0000${Object.entries(tags).sort().map(([k, v]) => `${k}=${v}`).join(",")}`;
    const existing = this.byKey.get(key);
    if (existing !== undefined) return existing;
    const id = this.byId.length + 1;
    this.byId.push({ name, type, tags: { ...tags }, value: 0n, sum: 0n, min: 0n, max: 0n });
    this.byKey.set(key, id);
    return id;
  }

  increment(id: number, delta: bigint): WasmResult {
    const m = this.byId[id - 1];
    if (!m) return WasmResult.NotFound;
    switch (m.type) {
      case "counter":
        if (delta < 0n) return WasmResult.BadArgument;
        m.value += delta;
        return WasmResult.Ok;
      case "gauge":
        m.value += delta;
        return WasmResult.Ok;
      case "histogram":
        return WasmResult.BadArgument;
    }
  }

  record(id: number, value: bigint): WasmResult {
    const m = this.byId[id - 1];
    if (!m) return WasmResult.NotFound;
    switch (m.type) {
      case "counter":
        if (value > m.value) m.value = value;
        return WasmResult.Ok;
      case "gauge":
        m.value = value;
        return WasmResult.Ok;
      case "histogram":
        if (m.value === 0n || value < m.min) m.min = value;
        if (m.value === 0n || value > m.max) m.max = value;
        m.value += 1n;
        m.sum += value;
        return WasmResult.Ok;
    }
  }

  /** Counter/gauge value; undefined for unknown ids and histograms. */
  get(id: number): bigint | undefined {
    const m = this.byId[id - 1];
    return m && m.type !== "histogram" ? m.value : undefined;
  }

  /** True if id names a defined metric. */
  has(id: number): boolean {
    return this.byId[id - 1] !== undefined;
  }

  snapshot(): MetricSample[] {
    return this.byId.map((m) => {
      const s: MetricSample = { name: m.name, type: m.type, tags: { ...m.tags }, value: Number(m.value) };
      if (m.type === "histogram") Object.assign(s, { sum: Number(m.sum), min: Number(m.min), max: Number(m.max) });
      return s;
    });
  }
}
