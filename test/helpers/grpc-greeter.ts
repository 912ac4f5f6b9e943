// Real @grpc/grpc-js servers and clients for the xDS tests: a one-method service whose reply names the server
// that answered, serialized as JSON so no proto tooling is involved. Loopback, ephemeral ports.
import * as grpc from "@grpc/grpc-js";

interface Reply {
  server: string;
}

const serialize = (v: unknown) => Buffer.from(JSON.stringify(v));
const deserialize = (b: Buffer) => JSON.parse(b.toString("utf8")) as unknown;

export const GREETER_SERVICE: grpc.ServiceDefinition = {
  SayHello: {
    path: "/helloworld.Greeter/SayHello",
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  },
};

export interface GreeterServer {
  name: string;
  port: number;
  calls: number;
  close(): Promise<void>;
}

export async function startGreeter(name: string): Promise<GreeterServer> {
  const server = new grpc.Server();
  const state: GreeterServer = {
    name,
    port: 0,
    calls: 0,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
  server.addService(GREETER_SERVICE, {
    SayHello: (_call: grpc.ServerUnaryCall<unknown, Reply>, callback: grpc.sendUnaryData<Reply>) => {
      state.calls++;
      callback(null, { server: name });
    },
  });
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  return state;
}

const GreeterClient = grpc.makeGenericClientConstructor(GREETER_SERVICE, "Greeter");

export interface GreeterClient {
  /** One call with a deadline; resolves to the name of the server that answered. */
  sayHello(timeoutMs?: number): Promise<string>;
  close(): void;
}

export function greeterClient(target: string, options: grpc.ChannelOptions = {}): GreeterClient {
  const client = new GreeterClient(target, grpc.credentials.createInsecure(), options) as unknown as grpc.Client & {
    SayHello(req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: Reply) => void): void;
  };
  return {
    sayHello: (timeoutMs = 5000) =>
      new Promise((resolve, reject) =>
        client.SayHello({}, { deadline: Date.now() + timeoutMs }, (err, reply) => (err ? reject(err) : resolve(reply!.server))),
      ),
    close: () => client.close(),
  };
}
