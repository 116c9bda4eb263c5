/**
 * The wire protocol between the daemon and the watchdog companion (`leasehold watchdog`): JSON
 * lines over a Unix socket, one request per line, each answered by one reply with the same id.
 * It lives in @leasehold/protocol (as '@leasehold/protocol/companion'), below both, so that the
 * daemon's link and the companion share one definition and the companion never loads the daemon.
 *
 * Like sanlock with wdmd, the daemon
 *   - says `hello` (with its watchdog fire timeout W) before it starts a lockspace: the companion
 *     answers only if it can fence with exactly that W;
 *   - `set`s a lockspace's expiry (CLOCK_MONOTONIC seconds: 8 x io_timeout after the last
 *     renewal) when the lockspace joins and after every renewal;
 *   - says `lost` when the lease is lost (the expiry stops moving);
 *   - `remove`s it when nothing uses its leases any more (clean stop, or users stopped after a loss).
 * Registrations are keyed by lockspace name, not by connection: a daemon restarted on the same host
 * that resumes a lockspace takes over its registration; a daemon that dies leaves them in place, so
 * the host is reset on schedule unless a new daemon renews them.
 */
export { LineFramer, encodeLine } from './framing.js';

/** Where the companion listens unless told otherwise. */
export const DEFAULT_COMPANION_SOCKET_PATH = '/run/leasehold/watchdog.sock';
export const COMPANION_PROTOCOL_VERSION = 1;
/** A line longer than this is a protocol error (the connection is closed). */
export const MAX_COMPANION_MESSAGE_BYTES = 4096;
/** Lockspace names are at most 48 bytes on disk; this only bounds what the companion keeps. */
export const MAX_REGISTRATION_NAME_BYTES = 256;
/** The companion keeps at most this many registrations. */
export const MAX_REGISTRATIONS = 4096;

export type CompanionRequest =
  | { id: number; op: 'hello'; version: number; daemonPid: number; fireTimeoutSeconds: number }
  | { id: number; op: 'set'; lockspace: string; expiresAtSeconds: number }
  | { id: number; op: 'lost'; lockspace: string }
  | { id: number; op: 'remove'; lockspace: string }
  | { id: number; op: 'status' };

export type CompanionOp = CompanionRequest['op'];

export interface HelloResult {
  version: number;
  fireTimeoutSeconds: number;
  intervalSeconds: number;
  device: string;
}

export interface RegistrationInfo {
  lockspace: string;
  expiresAtSeconds: number;
  /** Seconds left until the expiry (negative once passed), when the status was taken. */
  expiresInSeconds: number;
  lost: boolean;
  /** pid of the daemon that last set it. */
  daemonPid: number;
}

export type DeviceState = 'disarmed' | 'petting' | 'closed-unclean' | 'held-silent';

export interface StatusResult {
  pid: number;
  device: string;
  deviceState: DeviceState;
  fireTimeoutSeconds: number;
  intervalSeconds: number;
  /** CLOCK_MONOTONIC seconds of the last keepalive (null: never since start). */
  lastKeepaliveSeconds: number | null;
  nowSeconds: number;
  registrations: RegistrationInfo[];
}

export interface CompanionError {
  code: string;
  message: string;
}

export type CompanionReply =
  | { id: number; ok: true; result?: unknown }
  | { id: number | null; ok: false; error: CompanionError };

/** Error codes of companion replies. */
export const COMPANION_ERROR_CODES = [
  'BAD_REQUEST',
  'ACCESS_DENIED',
  'VERSION_MISMATCH',
  'FIRE_TIMEOUT_MISMATCH',
  'TOO_MANY_REGISTRATIONS',
  'DEVICE_ERROR',
  'SHUTTING_DOWN',
] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isName(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length > 0 && Buffer.byteLength(value, 'utf8') <= MAX_REGISTRATION_NAME_BYTES
  );
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

const KEYS: Record<CompanionOp, readonly string[]> = {
  hello: ['id', 'op', 'version', 'daemonPid', 'fireTimeoutSeconds'],
  set: ['id', 'op', 'lockspace', 'expiresAtSeconds'],
  lost: ['id', 'op', 'lockspace'],
  remove: ['id', 'op', 'lockspace'],
  status: ['id', 'op'],
};

/** The request in `line`, or a reason it is not one. Strict: unknown or missing fields are refused. */
export function parseCompanionRequest(
  line: string,
): { request: CompanionRequest } | { id: number | null; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { id: null, reason: 'not JSON' };
  }
  if (!isRecord(value)) return { id: null, reason: 'not a JSON object' };
  const id = typeof value['id'] === 'number' && Number.isSafeInteger(value['id']) ? value['id'] : null;
  if (id === null) return { id: null, reason: 'missing or invalid id' };
  const op = value['op'];
  if (typeof op !== 'string' || !(op in KEYS)) return { id, reason: `unknown op ${JSON.stringify(op)}` };
  const allowed = KEYS[op as CompanionOp];
  for (const key of Object.keys(value)) if (!allowed.includes(key)) return { id, reason: `unexpected field ${key}` };
  switch (op as CompanionOp) {
    case 'hello':
      if (!isPositiveInteger(value['version'])) return { id, reason: 'version must be a positive integer' };
      if (!isPositiveInteger(value['daemonPid'])) return { id, reason: 'daemonPid must be a positive integer' };
      if (!isPositiveInteger(value['fireTimeoutSeconds']))
        return { id, reason: 'fireTimeoutSeconds must be a positive integer' };
      break;
    case 'set':
      if (!isName(value['lockspace'])) return { id, reason: 'lockspace must be a non-empty name' };
      if (
        typeof value['expiresAtSeconds'] !== 'number' ||
        !Number.isFinite(value['expiresAtSeconds']) ||
        value['expiresAtSeconds'] < 0
      ) {
        return { id, reason: 'expiresAtSeconds must be a finite number >= 0' };
      }
      break;
    case 'lost':
    case 'remove':
      if (!isName(value['lockspace'])) return { id, reason: 'lockspace must be a non-empty name' };
      break;
    case 'status':
      break;
  }
  return { request: value as unknown as CompanionRequest };
}

/** The reply in `line`, or undefined when it is not a well-formed reply. */
export function parseCompanionReply(line: string): CompanionReply | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value['ok'] !== 'boolean') return undefined;
  const id = value['id'];
  if (value['ok'] === true) {
    if (typeof id !== 'number') return undefined;
    return { id, ok: true, result: value['result'] };
  }
  const error = value['error'];
  if (!isRecord(error) || typeof error['code'] !== 'string' || typeof error['message'] !== 'string') return undefined;
  return {
    id: typeof id === 'number' ? id : null,
    ok: false,
    error: { code: error['code'], message: error['message'] },
  };
}
