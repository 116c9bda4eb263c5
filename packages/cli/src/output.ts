/** The CLI's only path to stdout/stderr: reports are the product, so they are written directly. */
import { constants } from 'node:os';

/** A reader that went away (`leasehold direct dump IMG | head -1`): end quietly, as a tool killed by SIGPIPE does. */
export const EXIT_BROKEN_PIPE = 128 + constants.signals.SIGPIPE;

function onOutputError(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(EXIT_BROKEN_PIPE);
  throw error;
}
process.stdout.on('error', onOutputError);
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

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
