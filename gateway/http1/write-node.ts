// Writing HTTP/1.1 messages to a socket, shared by both sides of the codec: a whole message in one write (small
// bodies copied behind the head, larger ones corked with it), a streamed body chunk by chunk. Node-only.
import type { Duplex } from "node:stream";
import { writeWithBackpressure, type BodyStream } from "../body-stream.js";

const CRLF = Buffer.from("\r\n");
/** The chunked coding's last chunk with an empty trailer section (HTTP/1 carries no trailers here, as Envoy). */
const LAST_CHUNK = Buffer.from("0\r\n\r\n");
/** Bodies up to this are copied behind the head, so the message is one write. */
const COPY_LIMIT = 16 * 1024;

export function writeWhole(socket: Duplex, head: string, body: Uint8Array): void {
  if (body.length === 0) socket.write(head, "latin1");
  else if (body.length <= COPY_LIMIT) {
    const buf = Buffer.allocUnsafe(head.length + body.length);
    buf.write(head, 0, "latin1");
    buf.set(body, head.length);
    socket.write(buf);
  } else {
    socket.cork();
    socket.write(head, "latin1");
    socket.write(body);
    process.nextTick(() => socket.uncork());
  }
}

/**
 * `head` and `first` now, then the rest of the body as `more` delivers it (chunked when `chunked`), pausing it while
 * the socket is full; `ended` once the last of it is written. A failed body ends the connection (the message is cut).
 */
export function writeStreamed(socket: Duplex, head: string, first: Uint8Array, more: BodyStream, chunked: boolean, ended: () => void): void {
  const write = bodyWriter(socket, chunked);
  socket.write(head, "latin1");
  if (first.length > 0) write(first);
  more.start({
    data: writeWithBackpressure({ write, once: (event, listener) => socket.once(event, listener) }, more),
    end: () => {
      if (chunked) socket.write(LAST_CHUNK);
      ended();
    },
    error: () => socket.destroy(),
  });
}

/** Writes one piece of a streamed body (framed as a chunk when `chunked`); false when the socket is full. */
function bodyWriter(socket: Duplex, chunked: boolean): (c: Uint8Array) => boolean {
  if (!chunked) return (c) => socket.write(c);
  return (c) => {
    socket.cork();
    socket.write(`${c.length.toString(16)}\r\n`, "latin1");
    socket.write(c);
    const ok = socket.write(CRLF);
    socket.uncork();
    return ok;
  };
}
