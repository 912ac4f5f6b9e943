// Remote wasm code (code.remote: http_uri + sha256): fetched once, verified against its SHA-256, kept in memory by
// hash so that a listener update naming the same module does not fetch it again. Portable (fetch + WebCrypto).
import type { RemoteCodeRef } from "../bootstrap/build.js";

/** codePath of a filter whose code is remote: the gateway loads it from the cache, not the file system. */
export const REMOTE_CODE_PREFIX = "sha256:";

export class RemoteCodeCache {
  private readonly modules = new Map<string, Uint8Array>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init)) {}

  /** The verified bytes of a `sha256:<hex>` code path. */
  get(codePath: string): Uint8Array | undefined {
    return codePath.startsWith(REMOTE_CODE_PREFIX) ? this.modules.get(codePath.slice(REMOTE_CODE_PREFIX.length)) : undefined;
  }

  pathOf(sha256: string): string | undefined {
    return this.modules.has(sha256) ? REMOTE_CODE_PREFIX + sha256 : undefined;
  }

  /** Fetches and verifies `ref` unless cached; rejects with a one-line reason. */
  ensure(ref: RemoteCodeRef): Promise<void> {
    if (this.modules.has(ref.sha256)) return Promise.resolve();
    let p = this.pending.get(ref.sha256);
    if (!p) {
      p = this.fetchVerified(ref).finally(() => this.pending.delete(ref.sha256));
      this.pending.set(ref.sha256, p);
    }
    return p;
  }

  private async fetchVerified(ref: RemoteCodeRef): Promise<void> {
    let bytes: Uint8Array;
    try {
      const res = await this.fetchFn(ref.uri, { signal: AbortSignal.timeout(Math.max(ref.timeoutMs, 1)) });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new Error(`remote wasm code ${ref.uri}: fetch failed (${e instanceof Error ? e.message : String(e)})`);
    }
    const digest = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
    if (digest !== ref.sha256) throw new Error(`remote wasm code ${ref.uri}: sha256 mismatch (expected ${ref.sha256}, got ${digest})`);
    this.modules.set(ref.sha256, bytes);
  }
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
