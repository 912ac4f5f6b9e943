// Raw HTTP/1 on a TCP connection to 127.0.0.1: bytes written as given (request smuggling, pipelining, split
// messages), everything the server answers read back as latin1 text.
import { connect } from "node:net";

/** Raw bytes in, everything the server writes back until it closes (or `untilBytes` arrived). */
export function exchange(port: number, input: string | Buffer[], untilBytes?: RegExp, gapMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within 5 s; got ${JSON.stringify(out)}`));
    }, 5000);
    s.on("data", (c) => {
      out += c.toString("latin1");
      if (untilBytes?.test(out)) {
        clearTimeout(timer);
        s.destroy();
        resolve(out);
      }
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on("error", reject);
    s.on("connect", async () => {
      if (typeof input === "string") s.write(input, "latin1");
      else {
        for (const part of input) {
          s.write(part);
          if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        }
      }
    });
  });
}
