// Public surface of the guest layer for filters: context base classes, registration, hostcall
// wrappers and ABI enums. (The module entry re-exports dispatcher.ts, not this file.)
export { BaseContext, HttpContext, RootContext, StreamContext } from "./context";
export { registerRootContext, registeredRootIds, RootFactory } from "./registry";
export { HeaderPair, serializePairs, deserializePairs } from "./pairs";
export * from "./hostcalls";
export * from "./types";
