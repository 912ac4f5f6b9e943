// The payments demo's sample upstream apps: one HTTP server per payment-service WorkloadEntry of
// examples/payments, on 127.0.0.1 at the entry's port, answering JSON that says which version answered.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { parseAllDocuments } from "yaml";

export interface PaymentWorkload {
  /** The WorkloadEntry's name, e.g. payment-v1. */
  name: string;
  /** Its `version` label: v1, v2, v2-canary. */
  version: string;
  port: number;
}

export interface RunningApps {
  workloads: PaymentWorkload[];
  close(): Promise<void>;
}

/** The payment-service WorkloadEntries (label app: payment-service) of a YAML file, in file order. */
export function readPaymentWorkloads(file: string): PaymentWorkload[] {
  const workloads: PaymentWorkload[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const entry = doc.toJS() as { kind?: string; metadata?: { name?: string }; spec?: { labels?: Record<string, string>; ports?: Record<string, number> } } | null;
    if (entry?.kind !== "WorkloadEntry" || entry.spec?.labels?.app !== "payment-service") continue;
    const name = entry.metadata?.name ?? "?";
    const version = entry.spec.labels.version;
    const port = entry.spec.ports?.http;
    if (!version || typeof port !== "number") throw new Error(`${file}: WorkloadEntry ${name}: needs labels.version and ports.http`);
    workloads.push({ name, version, port });
  }
  if (workloads.length === 0) throw new Error(`${file}: no WorkloadEntry with label app: payment-service`);
  return workloads;
}

function paymentApp(version: string): Server {
  return createServer((req, res) => {
    // Drain the body so keep-alive connections stay usable, then answer.
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(`${JSON.stringify({ service: "payment-service", version, path: req.url, headers: req.headers })}\n`);
    });
  });
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on 127.0.0.1:${port}${e.code === "EADDRINUSE" ? " (port in use)" : ""}: ${e.message}`));
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", fail);
      resolve();
    });
  });
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** Starts one app per workload; if any port cannot be bound, closes the ones started and throws naming the port. */
export async function startPaymentApps(workloads: PaymentWorkload[]): Promise<RunningApps> {
  const started: Server[] = [];
  try {
    for (const w of workloads) {
      const server = paymentApp(w.version);
      await listen(server, w.port);
      started.push(server);
    }
  } catch (e) {
    await Promise.all(started.map(closeServer));
    throw e;
  }
  return { workloads, close: async () => void (await Promise.all(started.map(closeServer))) };
}
