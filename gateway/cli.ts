export async function run(_argv: string[]): Promise<number> {
  process.stderr.write("halyard gateway: not built yet\n");
  return 1;
}
