/**
 * Exit statuses. One table for every leasehold command that is not an lvm command; lvm's own
 * statuses for the lvm-named ones (pvcreate, vgs, lvchange, ...), so scripts written for lvm keep
 * working.
 */

/** What kind of failure a code is; each kind has one exit status. */
export type ExitClass = 'usage' | 'failed' | 'held' | 'internal';

export const EXIT_OK = 0;

/** leasehold's own statuses (every command except the lvm-named ones). */
export const EXIT_STATUS: Readonly<Record<ExitClass, number>> = {
  failed: 1,
  usage: 2,
  held: 3,
  internal: 4,
};

/**
 * `run` and `direct run` exit with the wrapped command's own status once it has started. When
 * leasehold fails before it starts, it adds this offset to the table's status (121 failed,
 * 122 bad command line, 123 held by someone else, 124 internal), so a script can tell "the command
 * ran and returned N" from "the command never ran" for the statuses commands commonly use.
 */
export const RUN_EXIT_OFFSET = 120;
/** `run`: the command was found but could not be executed (as env(1), nohup(1)). */
export const EXIT_CANNOT_EXECUTE = 126;
/** `run`: the command was not found (as env(1), nohup(1)). */
export const EXIT_NOT_FOUND = 127;
/** A command ended by signal N exits 128 + N (as the shell reports it). */
export const EXIT_SIGNAL_BASE = 128;

/** lvm's statuses (lvm2 errors.h): ECMD_PROCESSED is 0 at the shell, EINVALID_CMD_LINE 3, ECMD_FAILED 5. */
export const LVM_EXIT_OK = 0;
export const LVM_EXIT_INVALID_CMD_LINE = 3;
export const LVM_EXIT_FAILED = 5;

export const EXIT_TABLE: ReadonlyArray<{ status: number | string; runStatus: number | string; meaning: string }> = [
  { status: EXIT_OK, runStatus: "the command's own status", meaning: 'done' },
  {
    status: EXIT_STATUS.failed,
    runStatus: RUN_EXIT_OFFSET + EXIT_STATUS.failed,
    meaning: 'failed: leasehold could not do it (the code says why)',
  },
  { status: EXIT_STATUS.usage, runStatus: RUN_EXIT_OFFSET + EXIT_STATUS.usage, meaning: 'bad command line' },
  {
    status: EXIT_STATUS.held,
    runStatus: RUN_EXIT_OFFSET + EXIT_STATUS.held,
    meaning: 'held by someone else (a lease, a host_id, shared holders; also when --wait ran out)',
  },
  {
    status: EXIT_STATUS.internal,
    runStatus: RUN_EXIT_OFFSET + EXIT_STATUS.internal,
    meaning: 'internal error: a bug in leasehold (please report it)',
  },
  {
    status: EXIT_CANNOT_EXECUTE,
    runStatus: EXIT_CANNOT_EXECUTE,
    meaning: '`run` only: the command could not be executed',
  },
  { status: EXIT_NOT_FOUND, runStatus: EXIT_NOT_FOUND, meaning: '`run` only: the command was not found' },
  {
    status: `${EXIT_SIGNAL_BASE} + N`,
    runStatus: `${EXIT_SIGNAL_BASE} + N`,
    meaning: '`run` only: the command was killed by signal N',
  },
];
