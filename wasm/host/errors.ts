// Error types crossing the host/guest boundary.

/** A plugin could not be loaded or configured; the message names the plugin and the reason. */
export class PluginError extends Error {
  constructor(readonly plugin: string, reason: string) {
    super(`wasm plugin ${plugin}: ${reason}`);
    this.name = "PluginError";
  }
}

/**
 * Thrown by memory helpers when the guest hands us a pointer/length outside its memory.
 * Hostcall wrappers turn it into WasmResult.InvalidMemoryAccess; it never leaves the host.
 */
export class GuestMemoryError extends Error {
  constructor(readonly ptr: number, readonly len: number) {
    super(`guest memory access out of bounds: ptr=${ptr} len=${len}`);
    this.name = "GuestMemoryError";
  }
}

/** The guest called proc_exit or abort: treated exactly like a WebAssembly trap. */
export class GuestExit extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GuestExit";
  }
}

/** A guest callback trapped; the VM that ran it is unusable afterwards. */
export class GuestTrap extends Error {
  constructor(readonly callback: string, readonly reason: unknown) {
    super(`${callback} trapped: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = "GuestTrap";
  }
}
