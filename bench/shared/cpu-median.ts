/**
 * Median CPU µs of this process (so other load on a shared machine does not count) per operation over `batches`
 * timed batches of `perBatch` operations, after one warm-up batch.
 */
export async function medianCpuMicros(perBatch: number, batches: number, batch: (n: number) => unknown): Promise<number> {
  await batch(perBatch);
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const c0 = process.cpuUsage();
    await batch(perBatch);
    const c = process.cpuUsage(c0);
    samples.push((c.user + c.system) / perBatch);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}
