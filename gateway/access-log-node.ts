// Node sinks for access logs: stdout, stderr or an appended file; lines are batched and written once per turn of the
// event loop so logging costs one write per batch, not per request. Node-only.
import { createWriteStream, openSync, type WriteStream } from "node:fs";
import type { AccessLogConfig } from "./bootstrap/types.js";
import type { AccessLogSink } from "./access-log.js";

export interface NodeAccessLog {
  sink: AccessLogSink;
  close(): Promise<void>;
}

/** Opens the sink now, so that a file that cannot be written fails at startup (throws with the reason). */
export function openAccessLog(config: AccessLogConfig): NodeAccessLog {
  let file: WriteStream | undefined;
  if (config.kind === "file") {
    try {
      file = createWriteStream("", { fd: openSync(config.path, "a") });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`access log file ${config.path}: cannot open for writing (${code ?? String(e)})`);
    }
  }
  const write = (text: string) => {
    if (config.kind === "stdout") process.stdout.write(text);
    else if (config.kind === "stderr") process.stderr.write(text);
    else file!.write(text);
  };
  let batch = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (batch) write(batch);
    batch = "";
  };
  return {
    sink: (line) => {
      batch += line;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    close: () => {
      flush();
      return new Promise((resolve) => (file ? file.end(() => resolve()) : resolve()));
    },
  };
}
