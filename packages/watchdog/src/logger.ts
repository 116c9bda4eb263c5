/** The companion's structured logs: pino on stderr (the journal under systemd), JSON or pretty. */
import { pino, type Logger as PinoLogger } from 'pino';
import { baseLoggerOptions, defaultLogFormat, logDestination, type LogFormat } from '@leasehold/protocol/log-format';

export type CompanionLogger = PinoLogger;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function createLogger(name: string, level: string, format: LogFormat = defaultLogFormat()): CompanionLogger {
  return pino(baseLoggerOptions(name, level), logDestination(format));
}
