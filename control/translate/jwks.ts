// JWKS documents for RequestAuthentication `jwksUri` (and issuers with neither `jwks` nor `jwksUri`, through
// OpenID discovery), fetched by the control plane and inlined into halyard.jwt's configuration, as istiod does.
//
// - A fetch has a timeout (the rule's `timeout`, else 10 s) and must answer 2xx with a JWKS (`keys`: a non-empty
//   list of objects with a `kty`).
// - Until a URI has been fetched successfully, or when its fetch failed, the provider gets FAKE_JWKS: an RSA key
//   whose private half nobody has, so every token of that issuer is rejected with 401 (fail closed), exactly the
//   workaround Istio uses (pilot's model/jwks_resolver.go inlines a fake JWKS); a warning is logged.
// - Every known URI is fetched again every 20 minutes (Istio's JwtPubKeyRefreshInterval); a failed refresh keeps
//   the last good document; a first fetch that failed is retried after a minute. `onChange` fires when a document
//   that was handed out changed (a refresh, or a late first fetch replacing FAKE_JWKS), so the owner can push new
//   configuration. Timers are unref'd: they never keep the process alive.

/** A JWKS no token can verify against: one 2048-bit RSA public key whose private key was discarded. */
export const FAKE_JWKS = JSON.stringify({
  keys: [
    {
      kty: "RSA",
      e: "AQAB",
      n:
        "lrTscWuzyvrPsl5bzHethX68hOusMxk6FlemsJ4Xg3_PZnZdN_osFCZbMN3MvBr569gRV0vlbIFnIXynca-LfwefT59SB9COvvA_XmPSBonIVxximARRw" +
        "y9s1U7IaxpJd1JVqsR61bPEYgHjKUo3-XBFdmmIFGxcrlwIcnl1NwOqKWWmm_cLGJtPn-yIYnFqpPJOrztruswz6A2fLMgTs5sgAYeNHFGMzCv3y9DyP" +
        "TI1zZvyradQ7w6qro61dkX2n_K3lWcpZkzveZXUQjcr--A3wx52IfImzgNwhWChse_4Nu-YlSdr3huQo3b8ovAv5DECF6yepFqkuZolvr-rmQ",
    },
  ],
});

export const DEFAULT_JWKS_TIMEOUT_MS = 10_000;
export const DEFAULT_JWKS_REFRESH_MS = 20 * 60_000;
/** A failed URI is tried again by `resolve` once this long has passed (the refresh timer retries it too). */
export const DEFAULT_JWKS_RETRY_MS = 60_000;
const OPENID_SUFFIX = "/.well-known/openid-configuration";

/** What to fetch: a `jwksUri`, or an issuer whose JWKS is found through OpenID discovery. */
export type JwksSource = { uri: string; timeoutMs?: number } | { issuer: string; timeoutMs?: number };

export interface JwksResolverOptions {
  /** Default 20 minutes; 0 disables the timer (one-shot users such as `halyard x check`). */
  refreshIntervalMs?: number;
  retryAfterFailureMs?: number;
  log?: (line: string) => void;
  /** A document changed after it was first served (refresh, or a fetch that succeeded late). */
  onChange?: () => void;
  fetch?: typeof fetch;
}

interface Entry {
  source: JwksSource;
  /** The last good document; undefined until one fetch succeeded. */
  jwks?: string;
  failedAt?: number;
  inFlight?: Promise<void>;
  /** Whether jwksFor handed out this source (FAKE_JWKS or a document): a change then needs a push. */
  served: boolean;
  retry?: ReturnType<typeof setTimeout>;
}

export class JwksError extends Error {
  override name = "JwksError";
}

export function jwksSourceKey(source: JwksSource): string {
  return "uri" in source ? source.uri : `openid:${source.issuer}`;
}

export class JwksResolver {
  readonly #entries = new Map<string, Entry>();
  readonly #fetch: typeof fetch;
  readonly #log: (line: string) => void;
  readonly #retryMs: number;
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  onChange: (() => void) | undefined;

  constructor(options: JwksResolverOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#retryMs = options.retryAfterFailureMs ?? DEFAULT_JWKS_RETRY_MS;
    this.onChange = options.onChange;
    const every = options.refreshIntervalMs ?? DEFAULT_JWKS_REFRESH_MS;
    if (every > 0) {
      this.#timer = setInterval(() => void this.refresh(), every);
      this.#timer.unref?.();
    }
  }

  /**
   * The document to inline for `source` now: the last good one, else FAKE_JWKS. Never waits: a source not seen
   * before is fetched in the background (onChange fires when it arrives), as istiod does.
   */
  jwksFor(source: JwksSource): string {
    const key = jwksSourceKey(source);
    let entry = this.#entries.get(key);
    if (!entry) {
      this.#entries.set(key, (entry = { source, served: false }));
      void this.#update(entry);
    }
    entry.served = true;
    return entry.jwks ?? FAKE_JWKS;
  }

  /** Whether `source` has a fetched document (false: jwksFor answers FAKE_JWKS). */
  has(source: JwksSource): boolean {
    return this.#entries.get(jwksSourceKey(source))?.jwks !== undefined;
  }

  /**
   * Fetches every source not fetched yet (and failed ones whose retry delay passed), concurrently, and waits for
   * them. Never throws: failures are logged and leave the source on FAKE_JWKS.
   */
  async resolve(sources: readonly JwksSource[]): Promise<void> {
    const now = Date.now();
    const waits: Promise<void>[] = [];
    for (const source of sources) {
      const key = jwksSourceKey(source);
      let entry = this.#entries.get(key);
      if (!entry) this.#entries.set(key, (entry = { source, served: false }));
      if (entry.inFlight) waits.push(entry.inFlight);
      else if (entry.jwks === undefined && (entry.failedAt === undefined || now - entry.failedAt >= this.#retryMs)) waits.push(this.#update(entry));
    }
    await Promise.all(waits);
  }

  /** Fetches every known source again; resolves to whether any served document changed. */
  async refresh(): Promise<boolean> {
    const before = new Map([...this.#entries].map(([k, e]) => [k, e.jwks]));
    await Promise.all([...this.#entries.values()].map((e) => e.inFlight ?? this.#update(e)));
    return [...this.#entries].some(([k, e]) => e.served && before.get(k) !== e.jwks);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const e of this.#entries.values()) if (e.retry) clearTimeout(e.retry);
  }

  #update(entry: Entry): Promise<void> {
    const run = async () => {
      const previous = entry.jwks;
      try {
        const jwks = await fetchJwks(entry.source, this.#fetch);
        entry.jwks = jwks;
        entry.failedAt = undefined;
        if (entry.served && jwks !== previous) this.onChange?.();
      } catch (e) {
        entry.failedAt = Date.now();
        // Never fetched: try again soon rather than at the next refresh (unref'd, like the refresh timer).
        if (previous === undefined && !this.#closed && this.#retryMs > 0 && !entry.retry) {
          entry.retry = setTimeout(() => {
            entry.retry = undefined;
            if (!entry.inFlight && entry.jwks === undefined) void this.#update(entry);
          }, this.#retryMs);
          entry.retry.unref?.();
        }
        const what = "uri" in entry.source ? entry.source.uri : `the OpenID discovery of issuer ${entry.source.issuer}`;
        const reason = e instanceof Error ? e.message : String(e);
        this.#log(
          previous === undefined
            ? `warning: jwks: fetching ${what} failed: ${reason}; tokens from that issuer are rejected (401) until a fetch succeeds`
            : `warning: jwks: refreshing ${what} failed: ${reason}; keeping the last fetched keys`,
        );
      } finally {
        entry.inFlight = undefined;
      }
    };
    return (entry.inFlight = run());
  }
}

async function getText(url: string, timeoutMs: number, fetcher: typeof fetch): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new JwksError(`${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new JwksError(`${url}: only http and https are fetched`);
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetcher(url, { signal, redirect: "follow", headers: { accept: "application/json" } });
  } catch (e) {
    const name = (e as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") throw new JwksError(`no answer within ${timeoutMs} ms`);
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new JwksError(cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e)));
  }
  let body: string;
  try {
    body = await res.text();
  } catch {
    throw new JwksError(`the body did not arrive within ${timeoutMs} ms`);
  }
  if (res.status < 200 || res.status > 299) throw new JwksError(`status ${res.status}${body ? `, ${JSON.stringify(body.slice(0, 100))}` : ""}`);
  return body;
}

/** Checks that `text` is a JWKS the filter can load; returns it unchanged (the filter parses the original text). */
export function checkJwks(text: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new JwksError("the answer is not JSON");
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new JwksError('the answer is not a JWKS (no "keys" list)');
  if (!keys.some((k) => typeof k === "object" && k !== null && typeof (k as { kty?: unknown }).kty === "string")) {
    throw new JwksError('no key in the JWKS has a "kty"');
  }
  return text;
}

export async function fetchJwks(source: JwksSource, fetcher: typeof fetch = globalThis.fetch): Promise<string> {
  const timeoutMs = source.timeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS;
  let uri: string;
  if ("uri" in source) uri = source.uri;
  else {
    const discovery = await getText(source.issuer.replace(/\/$/, "") + OPENID_SUFFIX, timeoutMs, fetcher);
    let found: unknown;
    try {
      found = (JSON.parse(discovery) as { jwks_uri?: unknown }).jwks_uri;
    } catch {
      found = undefined;
    }
    if (typeof found !== "string" || found === "") throw new JwksError(`${source.issuer}${OPENID_SUFFIX} names no jwks_uri`);
    uri = found;
  }
  return checkJwks(await getText(uri, timeoutMs, fetcher));
}
