// Long synchronous work (rebuilding thousands of proxies' snapshots) in slices: between slices the event loop runs,
// so pushes already queued are written and ACKs read while the rest is still being built, instead of every stream
// waiting for the whole rebuild.
export class TimeSlicer {
  #sliceStart = performance.now();

  constructor(private readonly sliceMs = 10) {}

  /** Resolves at once within the slice; after it, on the next turn of the event loop (I/O runs first). */
  async pause(): Promise<void> {
    if (performance.now() - this.#sliceStart < this.sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#sliceStart = performance.now();
  }
}
