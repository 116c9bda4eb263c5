/**
 * Parsing of sanlock-style lease arguments:
 *   LOCKSPACE = NAME:HOST_ID:PATH:OFFSET
 *   RESOURCE  = LOCKSPACE_NAME:RESOURCE_NAME:PATH:OFFSET[:LVER]
 *   DUMP      = PATH[:OFFSET[:SIZE]]
 * A ':' inside a path is written '\:' (as sanlock does).
 */
import { validateName, MAX_HOST_ID, OnDiskError } from '@leasehold/ondisk';
import { CliError, EXIT_USAGE } from './cli-error.js';

export interface LockspaceArg {
  spaceName: string;
  /** 0 in `init`; 'auto' where the daemon may pick. */
  hostId: number;
  path: string;
  offsetBytes: number;
}

export interface ResourceArg {
  spaceName: string;
  resourceName: string;
  path: string;
  offsetBytes: number;
  lver: bigint | undefined;
}

export interface LocationArg {
  path: string;
  offsetBytes: number | undefined;
  sizeBytes: number | undefined;
}

/** Splits on ':' except where escaped as '\:'. */
export function splitColons(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && text[i + 1] === ':') {
      current += ':';
      i++;
    } else if (ch === ':') {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function usage(message: string): CliError {
  return new CliError('BAD_ARGUMENT', message, EXIT_USAGE);
}

/** Parses a byte count: plain digits, or with a K/M/G (binary) suffix. */
export function parseBytes(text: string, what: string): number {
  const match = /^(\d+)([KMG]i?B?)?$/i.exec(text.trim());
  if (!match || match[1] === undefined) throw usage(`${what} must be a byte count (like 1048576 or 1M), got "${text}"`);
  const units: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
  const unit = match[2] ? (units[match[2][0]!.toUpperCase()] ?? 1) : 1;
  const value = Number(match[1]) * unit;
  if (!Number.isSafeInteger(value)) throw usage(`${what} is too large: "${text}"`);
  return value;
}

function parseName(text: string, what: string): string {
  try {
    validateName(text, what);
  } catch (error) {
    if (error instanceof OnDiskError) throw new CliError(error.catalogueCode, error.message, EXIT_USAGE);
    throw error;
  }
  return text;
}

export function parseHostId(text: string, allowZero: boolean): number {
  if (!/^\d+$/.test(text)) throw usage(`host_id must be a number 1-${MAX_HOST_ID}, got "${text}"`);
  const hostId = Number(text);
  if ((hostId === 0 && !allowZero) || hostId > MAX_HOST_ID) {
    throw usage(`host_id must be 1-${MAX_HOST_ID}${allowZero ? ' (or 0 here)' : ''}, got ${hostId}`);
  }
  return hostId;
}

export function parseLockspaceArg(text: string, options: { allowZeroHostId?: boolean } = {}): LockspaceArg {
  const parts = splitColons(text);
  if (parts.length !== 4) throw usage(`expected LOCKSPACE as NAME:HOST_ID:PATH:OFFSET, got "${text}"`);
  const [name, hostId, path, offset] = parts as [string, string, string, string];
  if (path === '') throw usage(`missing PATH in "${text}"`);
  return {
    spaceName: parseName(name, 'lockspace name'),
    hostId: parseHostId(hostId, options.allowZeroHostId ?? false),
    path,
    offsetBytes: parseBytes(offset, 'OFFSET'),
  };
}

/** NAME:PATH:OFFSET, a lockspace without a host id (for `direct hosts`). */
export function parseLockspaceLocation(text: string): Omit<LockspaceArg, 'hostId'> {
  const parts = splitColons(text);
  if (parts.length === 4) {
    const { hostId: _ignored, ...rest } = parseLockspaceArg(text, { allowZeroHostId: true });
    return rest;
  }
  if (parts.length !== 3) throw usage(`expected LOCKSPACE as NAME:PATH:OFFSET, got "${text}"`);
  const [name, path, offset] = parts as [string, string, string];
  if (path === '') throw usage(`missing PATH in "${text}"`);
  return { spaceName: parseName(name, 'lockspace name'), path, offsetBytes: parseBytes(offset, 'OFFSET') };
}

export function parseResourceArg(text: string): ResourceArg {
  const parts = splitColons(text);
  if (parts.length !== 4 && parts.length !== 5) {
    throw usage(`expected RESOURCE as LOCKSPACE:NAME:PATH:OFFSET[:LVER], got "${text}"`);
  }
  const [space, resource, path, offset, lver] = parts as [string, string, string, string, string | undefined];
  if (path === '') throw usage(`missing PATH in "${text}"`);
  if (lver !== undefined && !/^\d+$/.test(lver)) throw usage(`LVER must be a number, got "${lver}"`);
  return {
    spaceName: parseName(space, 'lockspace name'),
    resourceName: parseName(resource, 'resource name'),
    path,
    offsetBytes: parseBytes(offset, 'OFFSET'),
    lver: lver === undefined ? undefined : BigInt(lver),
  };
}

export function parseLocationArg(text: string): LocationArg {
  const parts = splitColons(text);
  if (parts.length < 1 || parts.length > 3 || parts[0] === '') {
    throw usage(`expected PATH[:OFFSET[:SIZE]], got "${text}"`);
  }
  return {
    path: parts[0]!,
    offsetBytes: parts[1] === undefined || parts[1] === '' ? undefined : parseBytes(parts[1], 'OFFSET'),
    sizeBytes: parts[2] === undefined || parts[2] === '' ? undefined : parseBytes(parts[2], 'SIZE'),
  };
}
