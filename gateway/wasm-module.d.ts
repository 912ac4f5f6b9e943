// Static .wasm imports as Workers bundlers (wrangler, vitest-pool-workers) provide them: a compiled module.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
