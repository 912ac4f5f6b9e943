// Objects shared by key between configuration generations (clusters, wasm plugins, access logs): created on first
// use, disposed when the last generation using them lets go. Portable.
interface Entry<T> {
  value: Promise<T>;
  refs: number;
}

export class RefPool<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly dispose: (value: T) => void | Promise<void>) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value for `key`, created now if no one holds it; pair with release(key) once acquired. */
  async acquire(key: string, create: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      const value = create();
      const created: Entry<T> = { value, refs: 0 };
      entry = created;
      this.entries.set(key, created);
      value.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
    }
    const value = await entry.value;
    entry.refs++;
    return value;
  }

  release(key: string): void {
    const entry = this.entries.get(key);
    if (!entry || --entry.refs > 0) return;
    this.entries.delete(key);
    void entry.value.then((v) => this.dispose(v)).catch(() => {});
  }

  /** Disposes everything still held (shutdown). */
  async drain(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.value.then((v) => this.dispose(v)).catch(() => {})));
  }
}
