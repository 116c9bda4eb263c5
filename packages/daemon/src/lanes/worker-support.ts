/** Small pieces every lane worker uses: the real clock, a logger that forwards to the main thread. */
import { canonicalCode, codeOf } from '@leasehold/errors';
import { setTimeout as delay } from 'node:timers/promises';
import type { MessagePort } from 'node:worker_threads';
import type { Clock, Logger } from '@leasehold/lease';
import type { LogNote, WireFailure } from './lane-messages.js';

/** CLOCK_MONOTONIC seconds, the same clock in every thread of the process (and what sanlock writes). */
export const monotonicClock: Clock = {
  nowSeconds: () => Number(process.hrtime.bigint()) / 1e9,
  // Abort-aware, so deadlines raced against finished work do not leave timers behind.
  sleep: (seconds: number, signal?: AbortSignal) =>
    delay(Math.max(0, seconds * 1000), undefined, signal ? { signal } : undefined),
};

const LEVEL_RANK: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: 100,
};

/**
 * A Logger whose records go to the main thread, which writes them through pino. Records below
 * `minimumLevel` are dropped here, so that quiet daemons do not pay a message per lease operation.
 */
export function portLogger(port: MessagePort, baseFields: Record<string, unknown>, minimumLevel = 'debug'): Logger {
  const floor = LEVEL_RANK[minimumLevel] ?? LEVEL_RANK['debug']!;
  const send = (level: LogNote['level']) => (fields: object, message: string) => {
    if ((LEVEL_RANK[level] ?? 0) < floor) return;
    const note: LogNote = { type: 'log', level, fields: { ...baseFields, ...plainFields(fields) }, message };
    port.postMessage(note);
  };
  return { debug: send('debug'), info: send('info'), warn: send('warn'), error: send('error') };
}

/** Log fields must survive structured clone: errors and other objects become plain data. */
function plainFields(fields: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) out[key] = { name: value.name, message: value.message };
    else if (typeof value === 'function' || typeof value === 'symbol') continue;
    else out[key] = value;
  }
  return out;
}

/** Any thrown value as the wire form of a failure (code, message, details). */
export function failureOf(error: unknown): WireFailure {
  if (typeof error === 'object' && error !== null) {
    const { code, message, details, stillHeld } = error as {
      code?: unknown;
      message?: unknown;
      details?: unknown;
      stillHeld?: unknown;
    };
    if (typeof code === 'string' && typeof message === 'string') {
      const failure: WireFailure = { code, message };
      if (details !== undefined && typeof details === 'object' && details !== null)
        failure.details = details as Record<string, unknown>;
      // The cause (an on-disk error inside a CORRUPT) does not cross the thread: keep its finer code.
      const refined = codeOf(error);
      if (refined !== undefined && refined !== canonicalCode(code))
        failure.details = { ...(failure.details ?? {}), catalogueCode: refined };
      if (stillHeld !== undefined && stillHeld !== null) failure.stillHeld = stillHeld as WireFailure['stillHeld'];
      return failure;
    }
    if (error instanceof Error) return { code: 'INTERNAL', message: error.stack ?? error.message };
  }
  return { code: 'INTERNAL', message: String(error) };
}
