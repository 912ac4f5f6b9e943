// The response buffer pool (control/xds/buffer-pool.ts): exact sizes, reuse of released buffers by size class,
// a bound on what it keeps, and buffers it did not make (or gets twice) ignored.
import { describe, expect, it } from "vitest";
import { BufferPool } from "../control/xds/buffer-pool.js";

describe("BufferPool", () => {
  it("hands out exact sizes and reuses a released buffer of the same size class", () => {
    const pool = new BufferPool(4 * 2 ** 20);
    const a = pool.alloc(100_000);
    expect(a.length).toBe(100_000);
    a.fill(7);
    pool.release(a);
    expect(pool.pooledBytes).toBe(131_072);
    const b = pool.alloc(120_000);
    expect(b.length).toBe(120_000);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.pooledBytes).toBe(0);
    // A different size class gets a new buffer.
    const c = pool.alloc(300_000);
    expect(c.buffer).not.toBe(a.buffer);
  });

  it("keeps at most its bound, and ignores small, foreign and twice-released buffers", () => {
    const pool = new BufferPool(300_000);
    const bufs = [pool.alloc(200_000), pool.alloc(200_000)];
    for (const b of bufs) pool.release(b);
    expect(pool.pooledBytes).toBe(262_144);
    pool.release(bufs[0]!);
    expect(pool.pooledBytes).toBe(262_144);
    pool.release(Buffer.alloc(200_000));
    const small = pool.alloc(1000);
    expect(small.length).toBe(1000);
    pool.release(small);
    expect(pool.pooledBytes).toBe(262_144);
  });
});
