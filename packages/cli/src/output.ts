/** The CLI's only path to stdout/stderr: reports are the product, so they are written directly. */
export function printLine(line = ''): void {
  process.stdout.write(line + '\n');
}

export function printError(line: string): void {
  process.stderr.write(line + '\n');
}

/** JSON with bigints as decimal strings-free numbers where safe, strings otherwise. */
export function printJson(value: unknown): void {
  printLine(
    JSON.stringify(
      value,
      (_key, v: unknown) => {
        if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
        return v;
      },
      2,
    ),
  );
}
