import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

// Tests under test/workers run inside workerd (the Workers runtime), not Node. The project root is the
// repository root so that modules outside test/ (wasm/build/halyard.wasm, gateway/) resolve normally.
export default defineProject({
  plugins: [cloudflareTest({ remoteBindings: false, wrangler: { configPath: "./test/workers/wrangler.jsonc" } })],
  test: {
    name: "workers",
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/workers/**/*.test.ts"],
    // Real upstreams, the snapshot translated from examples/payments, a control plane (test/workers/global-setup.ts).
    globalSetup: ["test/workers/global-setup.ts"],
  },
});
