// The payments demo's ingress gateway: a `halyard gateway --xds` child process announcing itself as a router node
// labelled istio=ingressgateway, so the control plane serves it the listeners of the Gateways selecting that label.
// Its output is passed through; the first `listener "..." on http://...` line says where it listens.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/halyard.js", import.meta.url));
export const INGRESS_NODE_ID = "router~127.0.0.1~payments-ingress.istio-system~istio-system.svc.cluster.local";
export const INGRESS_LABELS = "istio=ingressgateway";

export interface IngressGateway {
  /** The first listener's URL, with 0.0.0.0 / [::] replaced by 127.0.0.1. */
  url: string;
  stop(): Promise<void>;
}

/** Starts the gateway against ADS at `xds` and waits (bounded) for its first listener; throws a one-line reason. */
export async function startIngressGateway(xds: { host: string; port: number }, timeoutMs = 20_000): Promise<IngressGateway> {
  const child = spawn(
    process.execPath,
    [BIN, "gateway", "--xds", `${xds.host}:${xds.port}`, "--node", INGRESS_NODE_ID, "--labels", INGRESS_LABELS],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  child.stderr!.pipe(process.stderr, { end: false });
  const stop = () => stopChild(child, exited);
  try {
    const url = await firstListener(child, exited, timeoutMs);
    return { url: url.replace(/^http:\/\/(0\.0\.0\.0|\[::\])/, "http://127.0.0.1"), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function firstListener(child: ChildProcess, exited: Promise<number | null>, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    let settled = false;
    const timer = setTimeout(() => reject(new Error(`the ingress gateway bound no listener within ${timeoutMs} ms`)), timeoutMs);
    const done = () => ((settled = true), clearTimeout(timer));
    child.stdout!.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      if (settled) return;
      seen += chunk.toString();
      // Ready once a configuration with a listener is in service. A NACK is not fatal: the gateway keeps the
      // resources it can use (gateway/xds/README.md).
      const listener = /listener "[^"]+" on (http:\/\/\S+)/.exec(seen);
      if (listener && /xds: configuration \d+ applied \([1-9]/.test(seen.slice(listener.index))) (done(), resolve(listener[1]!));
    });
    void exited.then((code) => (done(), reject(new Error(`the ingress gateway exited (code ${code}) before binding a listener`))));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(killer);
}
