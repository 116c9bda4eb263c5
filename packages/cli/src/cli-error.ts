/**
 * Errors the CLI reports. Every failure a user meets prints one line on stderr,
 * `leasehold: CODE: message (what to do)`, and exits with the status the catalogue
 * (@leasehold/errors) gives its code; the code is stable so scripts can match on it.
 */
import { describeThrown, EXIT_STATUS, exitStatusOf, runExitStatusOf, type ErrorCode } from '@leasehold/errors';

export const EXIT_FAILURE = EXIT_STATUS.failed;
export const EXIT_USAGE = EXIT_STATUS.usage;

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitStatus: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    exitStatus?: number,
  ) {
    super(message);
    this.exitStatus = exitStatus ?? exitStatusOf(code);
  }
}

/** A bad command line (exit 2, or 3 for the lvm-named commands). */
export function usageError(message: string): CliError {
  return new CliError('BAD_ARGUMENT', message);
}

/** The line for stderr and the exit status, from any thrown value; typed errors keep their code. */
export function describeError(error: unknown): { code: string; line: string; exitStatus: number } {
  const described = describeThrown(error);
  if (error instanceof CliError) return { ...described, exitStatus: error.exitStatus };
  return described;
}

/** The same for `run` / `direct run` when the command never started (121-124). */
export function describeRunError(error: unknown): { code: string; line: string; exitStatus: number } {
  const described = describeThrown(error);
  return { ...described, exitStatus: runExitStatusOf(described.code) };
}
