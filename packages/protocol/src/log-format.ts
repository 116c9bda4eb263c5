/**
 * The log format operators read and tools parse, shared by the daemon and the companion (a subpath,
 * so clients of the protocol never load pino). How they write their logs: `pretty` (pino-pretty: levels by name, local
 * time, colours) for a person at a terminal, `json` (one object per line) for the journal and for
 * tools. The default follows stderr: a terminal gets pretty, anything else JSON.
 */
import type { DestinationStream, LoggerOptions } from 'pino';
import { pino } from 'pino';
import pretty from 'pino-pretty';

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Throws a coded error (BAD_CONFIG) for anything but the formats above. */
export function parseLogFormat(value: string | undefined, where: string): LogFormat | undefined {
  if (value === undefined) return undefined;
  if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
  throw Object.assign(new Error(`${where} must be one of ${LOG_FORMATS.join(', ')}, got "${value}"`), {
    code: 'BAD_CONFIG',
  });
}

export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY === true ? 'pretty' : 'json';
}

/**
 * An error as a log field: code and message; the stack only for errors without a code (bugs), so
 * an expected failure (ENOENT, a busy lease) is one line, not a trace.
 */
export function errorField(error: Error): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: unknown }).cause;
  return {
    type: error.name,
    message: error.message,
    ...(code === undefined ? { stack: error.stack } : { code }),
    ...(cause instanceof Error ? { cause: errorField(cause) } : {}),
  };
}

/** Where log lines go: stderr, as JSON or through pino-pretty. */
export function logDestination(format: LogFormat): DestinationStream {
  if (format === 'json') return pino.destination({ dest: 2, sync: true });
  return pretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    singleLine: true,
    errorLikeObjectKeys: [],
    customPrettifiers: { err: (value: unknown) => JSON.stringify(value) },
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'hostname,levelName',
  });
}

/** Options both loggers share: one `pid` (the process itself) in the base, levels by name in JSON. */
export function baseLoggerOptions(name: string, level: string): LoggerOptions {
  return {
    level,
    base: { pid: process.pid, name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // The number for tools that compare levels, the name for people reading JSON.
    formatters: { level: (label: string, number: number) => ({ level: number, levelName: label }) },
    serializers: { err: (value: unknown) => (value instanceof Error ? errorField(value) : value) },
  };
}
