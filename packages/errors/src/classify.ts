/**
 * Turns any thrown value into a catalogue code and a one-line message. Lower layers wrap causes
 * (a CORRUPT paxos error around an on-disk LEADER_LOCKSPACE); the most specific code in the chain
 * wins, so "another lockspace's name is here" is not reported as a vague "damaged".
 */
import { canonicalCode, isKnownCode, type ErrorCode } from './catalogue.js';

export interface ClassifiedError {
  code: ErrorCode;
  /** One line, without a stack trace. */
  message: string;
}

/** Wrapper codes that say less than a coded cause may say. */
const GENERIC_CODES: ReadonlySet<string> = new Set([
  'CORRUPT',
  'DAMAGED',
  'INVALID_ARGUMENT',
  'BAD_ARGUMENT',
  'IO_ERROR',
  'INTERNAL',
]);
/** How deep a cause chain is followed (a cycle must not hang the error path). */
const MAX_CAUSE_DEPTH = 8;

interface Fields {
  code: unknown;
  catalogueCode: unknown;
  message: unknown;
  cause: unknown;
  syscall: unknown;
  errno: unknown;
}

function fieldsOf(value: unknown): Partial<Fields> | undefined {
  return typeof value === 'object' && value !== null ? (value as Partial<Fields>) : undefined;
}

/** Connecting to the daemon's socket: nothing there, or not allowed; anything else is an I/O failure. */
function systemErrorCode(syscall: string, code: string): string {
  if (syscall === 'connect' && (code === 'ENOENT' || code === 'ECONNREFUSED')) return 'NO_DAEMON';
  if (syscall === 'connect' && (code === 'EACCES' || code === 'EPERM')) return 'ACCESS_DENIED';
  return 'IO_ERROR';
}

/** The code a single error object carries, refined by `catalogueCode` where a layer set one. */
function ownCode(value: unknown): string | undefined {
  const fields = fieldsOf(value);
  if (fields === undefined) return undefined;
  if (typeof fields.catalogueCode === 'string') return fields.catalogueCode;
  if (typeof fields.code !== 'string') return undefined;
  // An operating-system error (ENOENT from open, EIO from read): the system call says what failed.
  if (typeof fields.syscall === 'string' && typeof fields.errno === 'number' && !isKnownCode(fields.code))
    return systemErrorCode(fields.syscall, fields.code);
  return fields.code;
}

/** The most specific known code along the cause chain, or undefined when none is known. */
export function codeOf(error: unknown): ErrorCode | undefined {
  let best: string | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth++) {
    const code = ownCode(current);
    if (code !== undefined && isKnownCode(code)) {
      if (best === undefined || GENERIC_CODES.has(best)) best = code;
      if (!GENERIC_CODES.has(code)) break;
    }
    current = fieldsOf(current)?.cause;
  }
  return best === undefined ? undefined : canonicalCode(best);
}

/** One line: newlines and runs of spaces folded, so a message never spans lines. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

/** Where in our code an unexpected error was thrown (the first stack frame), for bug reports. */
function firstFrame(error: Error): string | undefined {
  const frame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  return frame?.trim().replace(/^at /, '');
}

export function classifyError(error: unknown): ClassifiedError {
  const code = codeOf(error);
  const fields = fieldsOf(error);
  const message = typeof fields?.message === 'string' ? fields.message : String(error);
  if (code !== undefined && code !== 'INTERNAL') return { code, message: oneLine(message) };
  const where = error instanceof Error ? firstFrame(error) : undefined;
  return { code: 'INTERNAL', message: oneLine(where === undefined ? message : `${message} (at ${where})`) };
}
