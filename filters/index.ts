// Placeholder entry; replaced by the proxy-wasm guest layer.
export function proxy_abi_version_0_2_1(): void {}
