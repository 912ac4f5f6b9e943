// Monotonic time for delay deadlines: WASI clock_time_get(MONOTONIC), which Envoy and our host
// provide; the wall clock (proxy_get_current_time_nanoseconds) only if a host lacks it.
import { wasi_clock_time_get } from "../abi/imports";
import { getCurrentTimeNanoseconds } from "../abi/index";

const CLOCK_MONOTONIC: u32 = 1;
const SLOT: usize = memory.data(8);
let monotonicWorks: bool = true;

export function nowNanoseconds(): u64 {
  if (monotonicWorks) {
    store<u64>(SLOT, 0);
    if (wasi_clock_time_get(CLOCK_MONOTONIC, 1000, SLOT) == 0) return load<u64>(SLOT);
    monotonicWorks = false;
  }
  return getCurrentTimeNanoseconds();
}
