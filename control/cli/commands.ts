// The command table. Each entry's module exports `run(argv): Promise<number>` (the exit code).
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}
export interface Command {
  summary: string;
  load: () => Promise<CommandModule>;
}

export const commands: Record<string, Command> = {
  analyze: {
    summary: "analyze Istio config files as istioctl analyze does: exit 1 on any error",
    load: () => import("../analyze/command.js"),
  },
  demo: {
    summary: "run the demo that `npm start` starts (gateway + sample upstream on 127.0.0.1)",
    load: () => import("./demo.js"),
  },
  gateway: {
    summary: "run the data plane from an Envoy v3 bootstrap (-c)",
    load: () => import("../../gateway/cli.js"),
  },
  validate: {
    summary: "validate Istio config files: exit 1 with one line per error",
    load: () => import("./validate.js"),
  },
};
