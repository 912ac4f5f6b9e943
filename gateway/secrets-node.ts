// TLS material from the file system, for listeners: files a static bootstrap names (tls_certificates filename,
// resolved against the bootstrap's directory) and SDS secrets by name (Istio's credentialName) laid out as
// Kubernetes TLS secrets are mounted:
//
//   <secrets dir>/<name>/tls.crt    certificate chain (PEM)
//   <secrets dir>/<name>/tls.key    private key (PEM)
//   <secrets dir>/<name>/ca.crt     CA bundle for client certificates (MUTUAL); the validation secret
//                                   <name>-cacert is read from <secrets dir>/<name>-cacert/ca.crt, else from here
//
// A certificate and key that do not load together (not PEM, a key of another certificate) are reported here, so
// a bad secret is a config error and not a failed handshake later. Node-only.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createSecureContext } from "node:tls";
import type { SecretSource } from "./bootstrap/listener-tls.js";

export interface FileSecretsOptions {
  /** Relative file names in the bootstrap are resolved against this directory. */
  baseDir: string;
  /** `--secrets-dir`: where SDS secrets are read from. Without it, an SDS secret is an error. */
  secretsDir?: string;
}

const SECRET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const CA_SUFFIX = "-cacert";

export function fileSecrets(opts: FileSecretsOptions): SecretSource {
  const dir = opts.secretsDir;
  const secretDir = (name: string): string => {
    if (!dir) throw new Error(`SDS secret "${name}": no --secrets-dir given (secrets are read from <dir>/${name}/tls.crt and tls.key)`);
    if (!SECRET_NAME.test(name) || name.includes("..")) throw new Error(`SDS secret "${name}": not a secret name (letters, digits, ".", "-", "_")`);
    return join(dir, name);
  };
  return {
    readFile: (name) => readPem(resolve(opts.baseDir, name)),
    tlsCertificate(name) {
      const d = secretDir(name);
      const pair = { certificateChain: readPem(join(d, "tls.crt"), name), privateKey: readPem(join(d, "tls.key"), name) };
      checkPair(pair.certificateChain, pair.privateKey, `SDS secret "${name}"`);
      return pair;
    },
    trustedCa(name) {
      const candidates = [join(secretDir(name), "ca.crt")];
      if (name.endsWith(CA_SUFFIX) && name.length > CA_SUFFIX.length) candidates.push(join(secretDir(name.slice(0, -CA_SUFFIX.length)), "ca.crt"));
      for (const file of candidates) {
        try {
          return readPem(file, name);
        } catch (e) {
          if ((e as { missing?: boolean }).missing !== true) throw e;
        }
      }
      throw new Error(`SDS secret "${name}": no CA bundle (looked for ${candidates.join(" and ")})`);
    },
  };
}

/** Checks that a certificate chain and key load together (throws one line otherwise). */
export function checkPair(cert: string, key: string, what: string): void {
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new Error(`${what}: the certificate and private key do not load (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
  }
}

function readPem(file: string, secret?: string): string {
  const where = secret ? `SDS secret "${secret}": ${file}` : file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const err = new Error(`${where}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? String(e)})`}`);
    if (code === "ENOENT") (err as { missing?: boolean }).missing = true;
    throw err;
  }
  if (!text.includes("-----BEGIN ")) throw new Error(`${where}: not PEM (no "-----BEGIN" line)`);
  return text;
}
