/**
 * Failures of the lvm-named commands. They print as lvm prints them (each line indented by two spaces
 * on stderr) and exit with lvm's status: 3 for a bad command line, 5 for a failed command. Every error
 * also carries a stable code so scripts and the error catalogue can match on it.
 */
/** lvm's ECMD_PROCESSED. */
export const LVM_EXIT_OK = 0;
/** lvm's EINVALID_CMD_LINE. */
export const LVM_EXIT_USAGE = 3;
/** lvm's ECMD_FAILED. */
export const LVM_EXIT_FAILED = 5;

export class LvmCommandError extends Error {
  override readonly name: string = 'LvmCommandError';
  constructor(
    readonly code: string,
    /** lvm's message lines, without the two-space indent. */
    readonly lines: string[],
    readonly exitStatus: number = LVM_EXIT_FAILED,
  ) {
    super(lines.join('\n'));
  }
}

export class LvmUsageError extends LvmCommandError {
  override readonly name = 'LvmUsageError';
  constructor(
    lines: string[],
    /** getopt prints its own line ("lvs: unrecognized option ...") without lvm's indent. */
    readonly firstLineUnindented = false,
  ) {
    super('BAD_ARGUMENT', lines, LVM_EXIT_USAGE);
  }
}
