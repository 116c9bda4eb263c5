/** The companion's structured logs: pino, JSON lines on stderr (the journal under systemd). */
import { pino, type Logger as PinoLogger } from 'pino';

export type CompanionLogger = PinoLogger;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function createLogger(name: string, level: string): CompanionLogger {
  return pino({ level, base: { pid: process.pid, name }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}
