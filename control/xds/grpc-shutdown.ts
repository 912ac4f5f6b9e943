// Stops a grpc-js server: lets open calls finish, and forces the rest closed after `graceMs`.
import type { Server } from "@grpc/grpc-js";

export function shutdownGrpcServer(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
