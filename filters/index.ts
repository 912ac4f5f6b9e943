// halyard.wasm module entry: the proxy-wasm ABI v0.2.1 exports plus every filter, each of which
// registers its root id when _initialize runs (asconfig: exportStart "_initialize", so nothing
// runs at instantiation). Add new filters with a side-effect import below.
export * from "./abi/dispatcher";

// abort / trace / seed replacements (wired up by scripts/build-wasm.js with asc --use).
import "./abi/runtime";

import "./echo/index";
import "./fault/index";
import "./route/index";
import "./jwt/index";
import "./authz/index";
