/** Plain column tables (LVM report style) for daemon status output. */
export function formatTable(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function seconds(value: number | null): string {
  return value === null ? '-' : `${value.toFixed(1)}s`;
}
