// A request body that streams upstream while it arrives, kept for retries up to Envoy's per-request buffer limit
// (1 MiB): each attempt gets its own BodyStream that replays what was kept, then follows the live body. Once the body
// outgrew the limit nothing is kept and the request can no longer be retried. Flow control goes from the current
// attempt back to the downstream. Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import { BodyStream } from "./body-stream.js";

/** Envoy's default per_request_buffer_limit_bytes / connection buffer limit. */
export const REQUEST_BUFFER_LIMIT = 1024 * 1024;

/** A request body with a content-length up to this is read whole before the request goes on; others stream. */
export const WHOLE_REQUEST_BODY_LIMIT = 64 * 1024;

export class ReplayableRequestBody {
  private kept: Uint8Array[] | null = [];
  private keptBytes = 0;
  private attempts = 0;
  private current: BodyStream | null = null;
  private started = false;
  private state: "open" | "ended" | "failed" = "open";
  private trailers: HeaderMap | undefined;
  private failure: Error | undefined;

  /** `first`: what had arrived with the headers; `rest`: the body still arriving. */
  constructor(
    private readonly first: Uint8Array,
    private readonly rest: BodyStream,
    private readonly limit = REQUEST_BUFFER_LIMIT,
  ) {
    this.keep(first);
  }

  /** False once the body outgrew the buffer limit: an attempt cannot be replayed. */
  get replayable(): boolean {
    return this.kept !== null;
  }

  /** Bytes received from downstream so far. */
  get bytes(): number {
    return this.rest.bytes;
  }

  /** The body for a new attempt (replaces the previous attempt's, which gets nothing more). */
  attempt(): BodyStream {
    if (this.kept === null && this.attempts > 0) throw new Error("request body no longer replayable");
    this.attempts++;
    // The previous attempt's upstream request is reset (its sink is the transport).
    const previous = this.current;
    this.current = null;
    previous?.fail(new Error("request retried"));
    const s = new BodyStream({
      pause: () => this.rest.pause(),
      resume: () => this.resumeRest(),
      abort: () => {
        // The attempt is over (upstream reset, retry); the downstream body stays for the next attempt.
        if (this.current === s) this.detach();
      },
    });
    if (this.kept !== null) for (const c of this.kept) s.push(c);
    else s.push(this.first);
    if (this.state === "ended") s.end(this.trailers);
    else if (this.state === "failed") s.fail(this.failure!);
    this.current = s;
    return s;
  }

  /** No attempt reads the body any more (a local answer): the rest is read and dropped, so the downstream is not stalled. */
  detach(): void {
    this.current = null;
    this.resumeRest();
  }

  private resumeRest(): void {
    if (!this.started) {
      this.started = true;
      this.rest.start({
        data: (c) => {
          this.keep(c);
          this.current?.push(c);
        },
        end: (t) => {
          this.state = "ended";
          this.trailers = t;
          this.current?.end(t);
        },
        error: (e) => {
          this.state = "failed";
          this.failure = e;
          this.current?.fail(e);
        },
      });
    } else this.rest.resume();
  }

  private keep(c: Uint8Array): void {
    if (this.kept === null || c.length === 0) return;
    this.keptBytes += c.length;
    if (this.keptBytes > this.limit) this.kept = null;
    else this.kept.push(c);
  }
}
