/** The daemon's structured logs: pino, JSON lines on stderr (the journal under systemd). */
import { pino, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config/daemon-config.js';

export type DaemonLogger = PinoLogger;

/** Log fields as plain JSON: bigints (generations, lvers) as decimal strings, errors with their message. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { type: value.name, message: value.message, ...(code === undefined ? {} : { code }), stack: value.stack };
  }
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = plain(inner);
    return out;
  }
  return value;
}

export function createDaemonLogger(level: LogLevel): DaemonLogger {
  return pino(
    {
      level,
      base: { pid: process.pid, name: 'leasehold-daemon' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (object) => plain(object) as Record<string, unknown> },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
