// Kubernetes ObjectMeta as config files carry it: name and namespace in their DNS forms, labels and annotations
// as string maps; the server-populated fields are tolerated so `kubectl get -o yaml` output loads.
import type { Schema } from "./schema-types.js";

const DNS1123_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const DNS1123_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const LABEL_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY = `^(${DNS1123_SUBDOMAIN.slice(1, -1)}/)?${LABEL_NAME}$`;

const stringMap: Schema = { type: "object", additionalProperties: { type: "string" } };
const preserved: Schema = { "x-kubernetes-preserve-unknown-fields": true };

export const metadataSchema: Schema = {
  type: "object",
  required: ["name"],
  properties: {
    name: {
      type: "string",
      maxLength: 253,
      "x-kubernetes-validations": [
        {
          rule: `self.matches('${DNS1123_SUBDOMAIN}')`,
          message: "must be a lowercase RFC 1123 subdomain: a-z, 0-9, '-' and '.', starting and ending with a letter or digit",
        },
      ],
    },
    namespace: {
      type: "string",
      maxLength: 63,
      "x-kubernetes-validations": [
        { rule: `self.matches('${DNS1123_LABEL}')`, message: "must be a lowercase RFC 1123 label: a-z, 0-9 and '-', starting and ending with a letter or digit" },
      ],
    },
    labels: {
      ...stringMap,
      "x-kubernetes-validations": [
        { rule: `self.all(k, k.matches('${LABEL_KEY}') && k.split('/')[k.split('/').size() - 1].size() <= 63)`, message: "label keys must be [prefix/]name with a name of at most 63 characters: alphanumerics, '-', '_' or '.'" },
        { rule: `self.all(k, self[k].size() <= 63 && (self[k] == '' || self[k].matches('^${LABEL_NAME}$')))`, message: "label values must be at most 63 characters: alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric" },
      ],
    },
    annotations: stringMap,
    generateName: { type: "string" },
    uid: { type: "string" },
    resourceVersion: { type: "string" },
    generation: { type: "integer" },
    creationTimestamp: { type: "string", nullable: true },
    deletionTimestamp: { type: "string", nullable: true },
    deletionGracePeriodSeconds: { type: "integer" },
    selfLink: { type: "string" },
    finalizers: { type: "array", items: { type: "string" } },
    ownerReferences: { type: "array", items: preserved },
    managedFields: { type: "array", items: preserved },
  },
};
