// Body chunks read from a Node stream, joined without a copy when there is at most one. Node-only (Buffer).
export const EMPTY_BODY = new Uint8Array(0);

export function joinChunks(chunks: readonly Buffer[]): Uint8Array {
  return chunks.length === 0 ? EMPTY_BODY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
