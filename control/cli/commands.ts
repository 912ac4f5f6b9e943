// The command table. Each entry's module exports `run(argv): Promise<number>` (the exit code).
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}
export interface Command {
  summary: string;
  load: () => Promise<CommandModule>;
}

export const commands: Record<string, Command> = {
  agent: {
    summary: "istio-agent for Envoy: keep the workload certificate (--ca, --token-file) fresh and serve it over SDS on a Unix socket (--sds-socket)",
    load: () => import("../../gateway/identity/agent-cli.js"),
  },
  analyze: {
    summary: "analyze Istio config files as istioctl analyze does: exit 1 on any error",
    load: () => import("../analyze/command.js"),
  },
  demo: {
    summary: "run the payments demo `npm start` starts (control plane, ingress gateway, apps v1/v2/v2-canary on 127.0.0.1)",
    load: () => import("./demo.js"),
  },
  bootstrap: {
    summary: "print the Envoy v3 bootstrap connecting a proxy (--node) to halyard serve over ADS (--xds)",
    load: () => import("./bootstrap.js"),
  },
  gateway: {
    summary: "run the data plane from an Envoy v3 bootstrap (-c) or from the control plane (--xds host:port --node id)",
    load: () => import("../../gateway/cli.js"),
  },
  "x check": {
    summary: "what would the mesh do with a request? run the real filters on Istio config (-f) for METHOD URL",
    load: () => import("./xcheck.js"),
  },
  "x describe": {
    summary: "mTLS mode per inbound port and the PeerAuthentication behind it, AuthorizationPolicies, and the SPIFFE ID and expiry of a --cert or of the certificate its agent serves (--sds-socket) for a workload (--node) from config (-f)",
    load: () => import("./xdescribe.js"),
  },
  serve: {
    summary: "control plane: watch Istio config (-f), serve xDS (ADS on --xds-port), REST-JSON xDS and debug (--http-port)",
    load: async () => {
      const [{ createServeCommand }, { createSnapshotBuilder }] = await Promise.all([
        import("./serve.js"),
        import("../translate/xds/index.js"),
      ]);
      return createServeCommand((options) => createSnapshotBuilder(options));
    },
  },
  "token create": {
    summary: "print a short-lived service-account token for the certificate API (--sa <ns>/<sa>)",
    load: () => import("./token.js"),
  },
  "proxy-config": {
    summary: "print the listeners/routes/clusters/endpoints a proxy (--node) is served, from config (-f) or ADS (--xds)",
    load: () => import("./proxy-config.js"),
  },
  validate: {
    summary: "validate Istio config files: exit 1 with one line per error",
    load: () => import("./validate.js"),
  },
};
