/** The one line every user error prints, and the exit status it gives. */
import { catalogueEntry, canonicalCode } from './catalogue.js';
import { classifyError, oneLine } from './classify.js';
import { EXIT_STATUS, LVM_EXIT_FAILED, LVM_EXIT_INVALID_CMD_LINE, RUN_EXIT_OFFSET } from './exit-status.js';

/** `leasehold: CODE: message (hint)`. */
export function errorLine(code: string, message: string, program = 'leasehold'): string {
  const canonical = canonicalCode(code);
  return `${program}: ${canonical}: ${oneLine(message)} (${catalogueEntry(canonical).hint})`;
}

/** The line for any thrown value. */
export function describeThrown(
  error: unknown,
  program = 'leasehold',
): { code: string; line: string; exitStatus: number } {
  const { code, message } = classifyError(error);
  return { code, line: errorLine(code, message, program), exitStatus: exitStatusOf(code) };
}

/** The exit status of a leasehold command (not an lvm-named one) that failed with `code`. */
export function exitStatusOf(code: string): number {
  return EXIT_STATUS[catalogueEntry(code).exit];
}

/** The exit status of `run` / `direct run` when leasehold failed before the command started. */
export function runExitStatusOf(code: string): number {
  return RUN_EXIT_OFFSET + exitStatusOf(code);
}

/** lvm's exit status for an lvm-named command that failed with `code`: 3 bad command line, 5 failed. */
export function lvmExitStatus(code: string): number {
  return catalogueEntry(code).exit === 'usage' ? LVM_EXIT_INVALID_CMD_LINE : LVM_EXIT_FAILED;
}
