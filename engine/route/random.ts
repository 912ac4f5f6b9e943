// The engine's source of randomness for weighted destinations and percentages. The default is
// SplitMix64 from a seed; subclass and override next() to draw from elsewhere.
export class RandomSource {
  constructor(public state: u64 = 0) {}

  next(): u64 {
    let z = (this.state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }

  /** True with probability perMillion / 1 000 000 (Envoy: random % denominator < numerator). */
  chance(perMillion: u32): bool {
    if (perMillion == 0) return false;
    if (perMillion >= 1000000) return true;
    return this.next() % 1000000 < <u64>perMillion;
  }
}
