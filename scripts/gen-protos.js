// Placeholder until the Envoy proto generation lands (buf + protoc-gen-es).
export async function genProtos(_root) {}
