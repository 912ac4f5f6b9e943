// The mesh root a workload trusts the CA with: `--ca-root <file>` (e.g. a copy of the control plane's
// <state dir>/ca/root-cert.pem), or `--ca-root http://<control plane>:15014/ca/root-cert.pem` to fetch it from
// `halyard serve`'s HTTP port. Fetching over plain HTTP trusts the network path once, as mounting Istio's
// istio-ca-root-cert ConfigMap trusts the API server; give a file where that is not acceptable. Node-only.
import { readFile } from "node:fs/promises";
import { parseCertificates } from "../../control/ca/pem.js";

const FETCH_TIMEOUT_MS = 10_000;

/** PEM of the root(s) `spec` names; throws a one-line error naming the flag and file or URL. */
export async function loadCaRoot(spec: string, flag = "--ca-root"): Promise<string> {
  let text: string;
  if (/^https?:\/\//.test(spec)) {
    try {
      const res = await fetch(spec, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      text = await res.text();
    } catch (e) {
      throw new Error(`${flag} ${spec}: cannot fetch the root certificate (${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)})`);
    }
  } else {
    try {
      text = await readFile(spec, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`${flag} ${spec}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? String(e)})`}`);
    }
  }
  const certs = parseCertificates(text, `${flag} ${spec}`);
  if (!certs.every((c) => c.ca)) throw new Error(`${flag} ${spec}: not a CA certificate`);
  return certs.map((c) => c.toString()).join("");
}
