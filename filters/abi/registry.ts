// Root id -> root context factory. Filters register at module initialization (top-level code,
// run by _initialize), and the dispatcher looks the id up when the host creates a root context.
import { logError } from "./hostcalls";
import { RootContext } from "./context";

export type RootFactory = (contextId: u32) => RootContext;

const factories = new Map<string, RootFactory>();
const order: string[] = [];

export function registerRootContext(rootId: string, factory: RootFactory): void {
  if (!factories.has(rootId)) order.push(rootId);
  factories.set(rootId, factory);
}

export function registeredRootIds(): string[] {
  return order.slice(0);
}

/** A root context for an id nobody registered: it refuses its configuration with a clear log. */
class UnknownRootContext extends RootContext {
  onConfigure(pluginConfigurationSize: usize): bool {
    logError(unknownRootMessage(this.rootId));
    return false;
  }
}

function unknownRootMessage(rootId: string): string {
  return "halyard: unknown root id \"" + rootId + "\" (this module provides: " + order.join(", ") + ")";
}

export function createRootContext(rootId: string, contextId: u32): RootContext {
  let root: RootContext;
  if (factories.has(rootId)) {
    root = factories.get(rootId)(contextId);
  } else {
    logError(unknownRootMessage(rootId));
    root = new UnknownRootContext(contextId);
  }
  root.rootId = rootId;
  return root;
}
