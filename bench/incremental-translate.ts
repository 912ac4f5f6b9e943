// Unit-level timing of the translation a VirtualService weight edit causes: a generated mesh (bench/control-plane/
// mesh-config.ts) loaded through a ConfigStore, one sidecar per namespace (one proxy class each) built through
// SharedSnapshotBuilder, then one service's weights rewritten, the store reloaded and every class rebuilt.
// Reports the CPU time of the rebuild (median of --rounds edits), and separately that of the config reload.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { meshProxies, setWeights, writeMeshConfig } from "./control-plane/mesh-config.js";
import { ConfigStore } from "../control/config/store.js";
import { SharedSnapshotBuilder } from "../control/translate/xds/proxy-classes.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const shape = { services: arg("services", 1000), namespaces: arg("namespaces", 20) };
const rounds = arg("rounds", 5);
/** Live heap after a full GC (with --expose-gc), else as it stands. */
const heapMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return (process.memoryUsage().heapUsed / 2 ** 20).toFixed(0);
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const dir = mkdtempSync(join(tmpdir(), "halyard-incremental-"));
try {
  const services = writeMeshConfig(dir, shape);
  const store = new ConfigStore();
  const loaded = await store.load([dir]);
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join("; "));
  // One sidecar per namespace: each its own class, as the 2 000 sidecars of the control-plane bench form 20.
  const seen = new Set<string>();
  const nodes = meshProxies(shape)
    .filter((p) => !seen.has(p.namespace) && seen.add(p.namespace))
    .map((p) => ({ id: p.nodeId, cluster: "", metadata: {}, userAgentName: "", userAgentVersion: "" }));
  // --proxies N: after the classes, every node's snapshot too (what the serve's rebuild does for each sidecar).
  const all = meshProxies(shape)
    .slice(0, arg("proxies", 0))
    .map((p) => ({ id: p.nodeId, cluster: "", metadata: {}, userAgentName: "", userAgentVersion: "" }));
  const builder = new SharedSnapshotBuilder();
  let t = cpuMs();
  for (const n of nodes) builder.build(store.config!, n);
  for (const n of all) builder.build(store.config!, n);
  console.log(`first build: ${nodes.length} classes, ${shape.services} services: ${(cpuMs() - t).toFixed(0)} ms CPU, heap ${heapMb()} MB`);
  const times: number[] = [];
  // The first class of a new config also pays for the config-wide part (registry, what changed).
  const firsts: number[] = [];
  const classTimes: number[] = [];
  const nodeTimes: number[] = [];
  const reloadTimes: number[] = [];
  const reloadWall: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = services[(r * 37 + 42) % services.length]!;
    setWeights(s, r % 2 === 0 ? [50, 50] : [90, 10]);
    const tReload = cpuMs();
    const wallReload = performance.now();
    const reload = await store.load([dir]);
    if (!reload.ok) throw new Error(reload.errors.map((e) => e.message).join("; "));
    reloadTimes.push(cpuMs() - tReload);
    reloadWall.push(performance.now() - wallReload);
    t = cpuMs();
    builder.build(store.config!, nodes[0]!);
    firsts.push(cpuMs() - t);
    for (const n of nodes.slice(1)) builder.build(store.config!, n);
    const classesDone = cpuMs();
    classTimes.push(classesDone - t);
    for (const n of all) builder.build(store.config!, n);
    nodeTimes.push(cpuMs() - classesDone);
    times.push(cpuMs() - t);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0);
  const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  console.log(`rebuild after one VirtualService weight edit, ${shape.services} services: median ${median(times)} ms CPU (${list(times)})`);
  console.log(`  ${nodes.length} classes: median ${median(classTimes)} ms (${list(classTimes)}); the first, with the registry and the delta: ${list(firsts)}`);
  console.log(`  before that, the config reload (one changed file of ${services.length}): median ${median(reloadTimes)} ms CPU (${list(reloadTimes)}), ${median(reloadWall)} ms wall (${list(reloadWall)})`);
  if (all.length) console.log(`  then ${all.length} nodes' snapshots: median ${median(nodeTimes)} ms (${list(nodeTimes)})`);
  console.log(`heap after the edits: ${heapMb()} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
