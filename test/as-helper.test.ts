import { describe, expect, it } from "vitest";
import { loadAS } from "./helpers/as.js";

describe("AssemblyScript test helper", () => {
  it("compiles and round-trips strings", async () => {
    const as = await loadAS("test/fixtures/as/smoke.ts");
    expect(as.getString(as.exports.greet(as.newString("wasm")))).toBe("hello wasm");
  });
});
