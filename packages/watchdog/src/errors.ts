/**
 * Errors of the watchdog companion and its test devices: a stable code (scripts and the CLI match
 * on it) and a message for humans that says what to do.
 */
export const WATCHDOG_ERROR_CODES = [
  'BAD_ARGUMENT', // an option is out of range
  'DEVICE_MISSING', // the watchdog device does not exist (or no test device listens there)
  'DEVICE_BUSY', // another process holds the watchdog device
  'DEVICE_ERROR', // the device refused an operation (open, timeout, write)
  'TIMEOUT_UNSUPPORTED', // the device cannot do the requested fire timeout
  'UNCLEAN_EXIT', // a previous companion died without disarming; the host has not been reset since
  'ALREADY_RUNNING', // another companion serves this socket or holds the marker
  'COMPANION_UNREACHABLE', // nothing answers on the companion socket
  'CLUSTER_ERROR', // the test cluster could not do what was asked
  'NO_SUCH_HOST', // the test cluster has no such host
  'HOST_DOWN', // the emulated host is not running
] as const;

export type WatchdogErrorCode = (typeof WATCHDOG_ERROR_CODES)[number];

export class WatchdogError extends Error {
  override readonly name = 'WatchdogError';
  constructor(
    readonly code: WatchdogErrorCode,
    message: string,
  ) {
    super(message);
  }
}
