// Bodies between web streams (fetch, Request, Response) and BodyStream, with flow control both ways: a ReadableStream
// is read only while the BodyStream's consumer wants more, and a BodyStream feeds a ReadableStream only as fast as
// that stream is pulled. Portable.
import { BodyStream } from "./body-stream.js";

/** The rest of a body as a BodyStream; a read failure fails it with `failure(e)`. */
export function bodyStreamFromReadable(body: ReadableStream<Uint8Array>, failure: (e: unknown) => Error): BodyStream {
  const reader = body.getReader();
  let paused = true;
  let pumping = false;
  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (!paused && !more.finished) {
        const { done, value } = await reader.read();
        if (done) return more.end();
        more.push(value);
      }
    } catch (e) {
      more.fail(failure(e));
    } finally {
      pumping = false;
    }
  };
  const more: BodyStream = new BodyStream({
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      void pump();
    },
    abort: () => {
      reader.cancel().catch(() => {});
    },
  });
  return more;
}

/**
 * `first` then the rest of `more` as a ReadableStream (trailers are dropped: a web stream has none). Cancelling the
 * stream aborts `more` with `cancelled`.
 */
export function readableFromBodyStream(first: Uint8Array, more: BodyStream, cancelled = "body no longer read"): ReadableStream<Uint8Array> {
  let started = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (first.length > 0) controller.enqueue(first);
      },
      pull(controller) {
        if (started) return more.resume();
        started = true;
        more.start({
          data: (chunk) => {
            controller.enqueue(chunk);
            if ((controller.desiredSize ?? 0) <= 0) more.pause();
          },
          end: () => controller.close(),
          error: (e) => controller.error(e),
        });
      },
      cancel() {
        more.abort(cancelled);
      },
    },
    { highWaterMark: 0 },
  );
}
