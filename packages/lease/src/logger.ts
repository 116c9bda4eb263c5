/**
 * The logging interface lease code accepts: the subset of pino's API it uses, so a pino logger can be
 * passed as is (`logger.info({ hostId }, 'message')`). Lease code never writes to the console.
 */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const ignore = (): void => undefined;

/** A logger that drops everything: the default when the caller gives none. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
