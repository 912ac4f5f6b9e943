// code.remote on the edge: Workers cannot compile wasm at run time, so a filter whose LDS config names remote code
// (http_uri + sha256) runs the bundled halyard.wasm like every other filter. Nothing is fetched and the sha256 is
// not compared: the bundled module is the code by construction. Portable.
import type { RemoteCodeRef } from "../bootstrap/build.js";
import { REMOTE_CODE_PREFIX, RemoteCodeCache } from "../xds/remote-code.js";

export class BundledCode extends RemoteCodeCache {
  override ensure(_ref: RemoteCodeRef): Promise<void> {
    return Promise.resolve();
  }

  override pathOf(sha256: string): string {
    return REMOTE_CODE_PREFIX + sha256;
  }

  override get(_codePath: string): undefined {
    return undefined;
  }
}
