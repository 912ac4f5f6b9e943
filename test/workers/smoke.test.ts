import { describe, expect, it } from "vitest";
// @ts-ignore static wasm import, as Workers require
import mod from "../../wasm/build/halyard.wasm";

describe("workerd", () => {
  it("gets halyard.wasm as a precompiled module", async () => {
    expect(mod).toBeInstanceOf(WebAssembly.Module);
    expect(typeof navigator).toBe("object");
  });
});
