// The command table. Each entry's module exports `run(argv): Promise<number>` (the exit code).
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}
export interface Command {
  summary: string;
  load: () => Promise<CommandModule>;
}

export const commands: Record<string, Command> = {
  gateway: {
    summary: "run the data plane from an Envoy v3 bootstrap (-c)",
    load: () => import("../../gateway/cli.js"),
  },
  validate: {
    summary: "validate Istio config files: exit 1 with one line per error",
    load: () => import("./validate.js"),
  },
};
