export async function run(_argv: string[]): Promise<number> {
  process.stderr.write("halyard validate: not built yet\n");
  return 1;
}
