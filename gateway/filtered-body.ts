// A body still arriving, through a chain of filters after its headers went on: each chunk through every filter's
// data callback in order, then an empty last chunk with end_of_stream or the trailers through the trailers
// callback; what passes goes on as the returned stream. A filter answering StopIterationAndBuffer gets its data back
// from the host with the next chunk, so nothing passes it until it continues or the body ends (Envoy's buffering).
// Chunks are handled one at a time, in order, also when a filter answers later. Used for request bodies (decode
// callbacks, filters in order) and response bodies (encode callbacks, filters in reverse).
import type { BodyOutcome, HeaderMap } from "../wasm/host/index.js";
import { BodyStream } from "./body-stream.js";

export interface BodyFilter {
  data(chunk: Uint8Array, endOfStream: boolean): BodyOutcome | Promise<BodyOutcome>;
  trailers(trailers: HeaderMap): BodyOutcome | Promise<BodyOutcome>;
}

export interface FilteredBodyOptions {
  /** The filters in the order the body passes them. */
  filters: readonly BodyFilter[];
  /** The body as it arrives (started when the returned stream is first resumed). */
  source: BodyStream;
  /** The part that came with the headers, passed through first. */
  first: Uint8Array;
  /** A filter answered with a local reply, too late to send: `out` has to fail (and the other side to be reset). */
  lateLocalReply(out: BodyStream): void;
  /** A filter threw, after `out` failed. */
  onFilterError?(): void;
  /** The consumer of the returned stream gave up on it. */
  abort(): void;
}

export function filteredBody(o: FilteredBodyOptions): BodyStream {
  const { filters, source } = o;
  const n = filters.length;
  const jobs: Array<() => void | Promise<void>> = [];
  let running = false;
  const run = (): void => {
    running = true;
    while (jobs.length > 0) {
      const r = jobs.shift()!();
      if (r instanceof Promise) {
        r.then(run, (e: unknown) => {
          out.fail(e instanceof Error ? e : new Error(String(e)));
          o.onFilterError?.();
          running = false;
        });
        return;
      }
    }
    running = false;
  };
  const enqueue = (job: () => void | Promise<void>) => {
    if (out.finished) return;
    jobs.push(job);
    if (!running) run();
  };
  // Every filter from `from` on; null when one answered with a local reply.
  const through = (chunk: Uint8Array, eos: boolean, from = 0): Uint8Array | null | Promise<Uint8Array | null> => {
    for (let i = from; i < n; i++) {
      const r = filters[i]!.data(chunk, eos);
      if (r instanceof Promise) {
        const at = i;
        return r.then((d) => (d.kind === "local_response" ? null : through(d.body ?? chunk, eos, at + 1)));
      }
      if (r.kind === "local_response") return null;
      if (r.body) chunk = r.body;
      if (chunk.length === 0 && !eos) return chunk; // held by this filter
    }
    return chunk;
  };
  const data = (chunk: Uint8Array, eos: boolean, then?: () => void): void | Promise<void> => {
    const passed = (c: Uint8Array | null) => {
      if (c === null) return o.lateLocalReply(out);
      out.push(c);
      then?.();
    };
    const r = through(chunk, eos);
    if (r instanceof Promise) return r.then(passed);
    passed(r);
  };
  const trailersThrough = (trailers: HeaderMap, from = 0): void | Promise<void> => {
    for (let i = from; i < n; i++) {
      const r = filters[i]!.trailers(trailers);
      if (r instanceof Promise) {
        const at = i;
        return r.then((d) => (d.kind === "local_response" ? o.lateLocalReply(out) : trailersThrough(trailers, at + 1)));
      }
      if (r.kind === "local_response") return o.lateLocalReply(out);
    }
    out.end(trailers);
  };
  const sink = {
    data: (c: Uint8Array) => enqueue(() => data(c, false)),
    end: (trailers: HeaderMap | undefined) => enqueue(() => (trailers ? trailersThrough(trailers) : data(new Uint8Array(0), true, () => out.end()))),
    error: (e: Error) => enqueue(() => out.fail(e)),
  };
  let started = false;
  const out: BodyStream = new BodyStream({
    pause: () => source.pause(),
    resume: () => {
      if (started) return source.resume();
      started = true;
      source.start(sink);
    },
    abort: () => o.abort(),
  });
  if (o.first.length > 0) enqueue(() => data(o.first, false));
  return out;
}
