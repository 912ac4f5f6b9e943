// halyard.echo configuration: parsed from JSON and validated field by field, so a bad config is
// refused with one line naming the field instead of being half-applied.
import { JsonKind, JsonValue, parseJson } from "../../engine/json/index";
import { HeaderPair } from "../abi/index";

export class LocalResponse {
  constructor(public path: string, public status: u32, public body: string, public headers: HeaderPair[]) {}
}

export class EchoConfig {
  requestHeaders: HeaderPair[] = [];
  responseHeaders: HeaderPair[] = [];
  /** Keyed by :path without the query string. */
  localResponses: Map<string, LocalResponse> = new Map();

  isNoop(): bool {
    return this.requestHeaders.length == 0 && this.responseHeaders.length == 0 && this.localResponses.size == 0;
  }
}

/** Either a config or the reason it was refused. */
export class EchoConfigResult {
  constructor(public config: EchoConfig | null, public error: string) {}
}

function fail(msg: string): EchoConfigResult {
  return new EchoConfigResult(null, msg);
}

/** Reads a {"name": "value"} object of headers; returns an error message or "". */
function readHeaders(v: JsonValue, field: string, out: HeaderPair[]): string {
  if (!v.isObject()) return field + " must be an object of header name -> string value, got " + v.kindName();
  for (let i = 0; i < v.length; i++) {
    const name = v.keyAt(i);
    const value = v.at(i)!;
    if (name.length == 0) return field + " has an empty header name";
    if (!value.isString()) return field + "." + name + " must be a string, got " + value.kindName();
    out.push(new HeaderPair(name.toLowerCase(), value.stringValue));
  }
  return "";
}

function readLocalResponse(v: JsonValue, where: string, config: EchoConfig): string {
  if (!v.isObject()) return where + " must be an object, got " + v.kindName();
  for (let i = 0; i < v.length; i++) {
    const k = v.keyAt(i);
    if (k != "path" && k != "status" && k != "body" && k != "headers") return where + ": unknown field \"" + k + "\"";
  }
  const path = v.get("path");
  if (!path) return where + ".path is required";
  if (!path.isString() || !path.stringValue.startsWith("/")) return where + ".path must be a string starting with \"/\"";
  const status = v.get("status");
  if (!status) return where + ".status is required";
  const code = status.numberValue;
  if (!status.isNumber() || code != Math.trunc(code) || code < 200 || code > 599) {
    return where + ".status must be an integer HTTP status between 200 and 599";
  }
  let body = "";
  const b = v.get("body");
  if (b) {
    if (!b.isString()) return where + ".body must be a string, got " + b.kindName();
    body = b.stringValue;
  }
  const headers: HeaderPair[] = [];
  const h = v.get("headers");
  if (h) {
    const err = readHeaders(h, where + ".headers", headers);
    if (err.length) return err;
  }
  if (config.localResponses.has(path.stringValue)) return where + ".path \"" + path.stringValue + "\" is configured twice";
  config.localResponses.set(path.stringValue, new LocalResponse(path.stringValue, <u32>code, body, headers));
  return "";
}

/** Parses the plugin configuration bytes. Empty input means "no-op". */
export function parseEchoConfig(bytes: ArrayBuffer): EchoConfigResult {
  const config = new EchoConfig();
  if (bytes.byteLength == 0) return new EchoConfigResult(config, "");
  const parsed = parseJson(bytes);
  if (!parsed.ok) return fail("configuration is not valid JSON: " + parsed.describe());
  const root = parsed.value!;
  if (root.kind != JsonKind.Object) return fail("configuration must be a JSON object, got " + root.kindName());
  for (let i = 0; i < root.length; i++) {
    const key = root.keyAt(i);
    const v = root.at(i)!;
    let err = "";
    if (key == "request_headers") {
      err = readHeaders(v, "request_headers", config.requestHeaders);
    } else if (key == "response_headers") {
      err = readHeaders(v, "response_headers", config.responseHeaders);
    } else if (key == "local_responses") {
      if (!v.isArray()) {
        err = "local_responses must be an array, got " + v.kindName();
      } else {
        for (let j = 0; j < v.length && err.length == 0; j++) {
          err = readLocalResponse(v.at(j)!, "local_responses[" + j.toString() + "]", config);
        }
      }
    } else {
      err = "unknown field \"" + key + "\" (expected request_headers, response_headers, local_responses)";
    }
    if (err.length) return fail(err);
  }
  return new EchoConfigResult(config, "");
}
