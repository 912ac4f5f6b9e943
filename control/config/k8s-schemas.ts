// Light shape checks for the Kubernetes kinds Halyard's service registry reads (core/v1 Service and Endpoints),
// written in the same structural-schema form as the Istio CRDs so one validator serves both. Only the fields the
// registry uses are checked; everything else Kubernetes allows is preserved unchecked.
import type { Schema } from "./schema-types.js";

const port: Schema = { type: "integer", minimum: 1, maximum: 65535 };
const stringMap: Schema = { type: "object", additionalProperties: { type: "string" } };
const intOrString: Schema = { "x-kubernetes-int-or-string": true };
const protocol: Schema = { type: "string", enum: ["TCP", "UDP", "SCTP"] };

const servicePort: Schema = {
  type: "object",
  required: ["port"],
  properties: {
    name: { type: "string" },
    protocol,
    appProtocol: { type: "string" },
    port,
    targetPort: intOrString,
    nodePort: { type: "integer", minimum: 0, maximum: 65535 },
  },
};

export const serviceSchema: Schema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      "x-kubernetes-preserve-unknown-fields": true,
      properties: {
        type: { type: "string", enum: ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] },
        selector: stringMap,
        ports: {
          type: "array",
          items: servicePort,
          "x-kubernetes-validations": [
            { rule: "self.size() <= 1 || self.all(p, has(p.name) && p.name != '')", message: "ports must be named when there is more than one" },
            { rule: "self.all(a, self.exists_one(b, a.port == b.port && (has(a.protocol) ? a.protocol : 'TCP') == (has(b.protocol) ? b.protocol : 'TCP')))", message: "port and protocol must be unique" },
          ],
        },
        clusterIP: { type: "string" },
        externalName: { type: "string" },
      },
      "x-kubernetes-validations": [
        { rule: "(has(self.type) && self.type == 'ExternalName') ? has(self.externalName) : true", message: "externalName is required when type is ExternalName" },
      ],
    },
    status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  },
};

const endpointAddress: Schema = {
  type: "object",
  required: ["ip"],
  "x-kubernetes-preserve-unknown-fields": true,
  properties: { ip: { type: "string", minLength: 1 }, hostname: { type: "string" }, nodeName: { type: "string" } },
};

export const endpointsSchema: Schema = {
  type: "object",
  properties: {
    subsets: {
      type: "array",
      items: {
        type: "object",
        properties: {
          addresses: { type: "array", items: endpointAddress },
          notReadyAddresses: { type: "array", items: endpointAddress },
          ports: {
            type: "array",
            items: {
              type: "object",
              required: ["port"],
              properties: { name: { type: "string" }, port, protocol, appProtocol: { type: "string" } },
            },
            "x-kubernetes-validations": [
              { rule: "self.size() <= 1 || self.all(p, has(p.name) && p.name != '')", message: "ports must be named when there is more than one" },
            ],
          },
        },
      },
    },
  },
};
