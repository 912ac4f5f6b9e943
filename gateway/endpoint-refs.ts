// Which endpoints' connection pools are still wanted. Every host of every live cluster holds its endpoint's pool key;
// when the last one lets go (EDS or DNS removed the endpoint, or the clusters holding it were replaced), the
// transport drains that endpoint's pools: idle connections close now, busy ones after their request, as Envoy
// drains the pools of removed hosts. Portable.

export interface EndpointPools {
  retain(key: string): void;
  release(key: string): void;
}

export class EndpointRefs implements EndpointPools {
  private readonly counts = new Map<string, number>();

  constructor(private readonly unused: (key: string) => void) {}

  retain(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  release(key: string): void {
    const n = (this.counts.get(key) ?? 0) - 1;
    if (n > 0) {
      this.counts.set(key, n);
      return;
    }
    this.counts.delete(key);
    this.unused(key);
  }

  /** Endpoints some host still holds (tests, debugging). */
  get size(): number {
    return this.counts.size;
  }
}
