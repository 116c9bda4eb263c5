/** Output of the lvm-named commands: reports on stdout, messages on stderr indented by two spaces as lvm does. */
export function printLvmLines(lines: readonly string[]): void {
  if (lines.length === 0) return;
  process.stderr.write(lines.map((l) => `  ${l}\n`).join(''));
}

/** lvm's "successfully created" style lines go to stdout. */
export function printLvmOut(lines: readonly string[]): void {
  if (lines.length === 0) return;
  process.stdout.write(lines.map((l) => `  ${l}\n`).join(''));
}

/** Report lines are already indented. */
export function printReportLines(lines: readonly string[]): void {
  if (lines.length === 0) return;
  process.stdout.write(lines.join('\n') + '\n');
}
