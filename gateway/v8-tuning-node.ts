// V8 settings for a process that runs the gateway (`halyard gateway`, static or xDS). Node-only.
//
// Allocation-site pretenuring: V8 allocates the objects of an allocation site straight into the old generation once
// it sees most of them survive a scavenge. A burst of traffic makes some per-request sites look long-lived; V8 then
// flips them between tenured and not. A tenured per-request object dies young but sits in the old generation until
// the next full GC, and keeps alive every young object it points to (the request's head, headers, strings): at
// 1 000 req/s each scavenge copied ~600 KB of such dead objects and paused 2-3 ms, against ~0 KB and 0.5-1 ms
// without pretenuring (bench/README.md, "Floors, and scavenges without allocation-site pretenuring"). Per-request objects in a proxy die young: pretenuring is off.
import { setFlagsFromString } from "node:v8";

export function tuneV8ForRequestTraffic(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
}
