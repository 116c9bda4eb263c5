/** The daemon's structured logs: pino, JSON lines on stderr (the journal under systemd). */
import { pino, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config/daemon-config.js';

export type DaemonLogger = PinoLogger;

export function createDaemonLogger(level: LogLevel): DaemonLogger {
  return pino(
    {
      level,
      base: { pid: process.pid, name: 'leasehold-daemon' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // bigints (generations, lvers) are logged as decimal strings
      formatters: { log: (object) => JSON.parse(JSON.stringify(object, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, unknown> },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
