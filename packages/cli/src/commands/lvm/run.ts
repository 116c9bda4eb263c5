/**
 * Runs one lvm-named command: maps every failure to lvm's output (message lines on stderr, indented
 * by two spaces) and exit status (3 bad command line, 5 failed). Errors of the volume layer keep
 * their message; a stable code is available to scripts through LEASEHOLD_ERROR_CODES=1, which adds
 * "[CODE]" to the last line.
 */
import { LvmFormatError } from '@leasehold/lvm-format';
import { VolumeError } from '@leasehold/volume';
import { LVM_EXIT_FAILED, LVM_EXIT_USAGE, LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printLvmLines } from './output.js';
import type { SelfParsingCommand } from '../../command-registry.js';

export const ERROR_CODES_ENV = 'LEASEHOLD_ERROR_CODES';

function toLvmError(error: unknown): LvmCommandError {
  if (error instanceof LvmCommandError) return error;
  if (error instanceof VolumeError)
    return new LvmCommandError(
      error.code,
      [error.message],
      error.code === 'BAD_ARGUMENT' ? LVM_EXIT_USAGE : LVM_EXIT_FAILED,
    );
  if (error instanceof LvmFormatError) return new LvmCommandError(error.code, [error.message]);
  const code: unknown = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  if (error instanceof Error && typeof code === 'string') return new LvmCommandError(code, [error.message]);
  const message = error instanceof Error ? error.message : String(error);
  return new LvmCommandError('INTERNAL', [`Internal error: ${message}`]);
}

/** Runs `work`, prints any failure as lvm does and sets the exit status. */
export async function runLvmCommand(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    const failure = toLvmError(error);
    const lines = [...failure.lines];
    if (process.env[ERROR_CODES_ENV] === '1' && lines.length > 0) lines[lines.length - 1] += ` [${failure.code}]`;
    if (failure instanceof LvmUsageError && failure.firstLineUnindented && lines.length > 0) {
      process.stderr.write(`${lines.shift() as string}\n`);
    }
    printLvmLines(lines);
    process.exitCode = failure.exitStatus;
  }
}

/** An lvm-named command for the CLI registry: it parses its own words with lvm's rules (getopt.ts). */
export function lvmCommand(run: (words: string[]) => Promise<void>): SelfParsingCommand {
  return { parsesOwnArgs: true, run: (args) => runLvmCommand(() => run([...args])) };
}
