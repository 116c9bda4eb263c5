/**
 * The daemon's structured logs: pino on stderr (the journal under systemd), as JSON or pretty
 * (log-format.ts). `pid` is the daemon's own; a requesting or holding process is `clientPid`.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config/daemon-config.js';
import {
  baseLoggerOptions,
  defaultLogFormat,
  errorField,
  logDestination,
  type LogFormat,
} from '@leasehold/protocol/log-format';

export type DaemonLogger = PinoLogger;

/** Log fields as plain JSON: bigints (generations, lvers) as decimal strings, errors by code and message. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return errorField(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = plain(inner);
    return out;
  }
  return value;
}

export function createDaemonLogger(level: LogLevel, format: LogFormat = defaultLogFormat()): DaemonLogger {
  const base = baseLoggerOptions('leasehold-daemon', level);
  return pino(
    {
      ...base,
      formatters: { ...base.formatters, log: (object) => plain(object) as Record<string, unknown> },
    },
    logDestination(format),
  );
}
