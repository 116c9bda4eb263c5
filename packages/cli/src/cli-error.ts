/**
 * Errors the CLI reports. Every failure a user meets prints `leasehold: <CODE>: <message>` on stderr
 * and exits non-zero; the code is stable so scripts can match on it.
 */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitStatus: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

interface CodedError {
  code: string;
  message: string;
}

function isCodedError(value: unknown): value is CodedError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** One line for stderr, from any thrown value; typed errors keep their code. */
export function describeError(error: unknown): { code: string; message: string; exitStatus: number } {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitStatus: error.exitStatus };
  if (isCodedError(error)) return { code: error.code, message: error.message, exitStatus: EXIT_FAILURE };
  if (error instanceof Error) return { code: 'INTERNAL', message: error.stack ?? error.message, exitStatus: EXIT_FAILURE };
  return { code: 'INTERNAL', message: String(error), exitStatus: EXIT_FAILURE };
}
