/**
 * Strict validation of one parsed request line. Anything that is not exactly a known request
 * (unknown op, missing, extra or mistyped field, out-of-range number) is refused with a stable code
 * before any work is done, so the rest of the daemon only ever sees well-typed requests.
 */
import { MAX_HOST_ID, NAME_LENGTH_BYTES as MAX_NAME_BYTES } from '@leasehold/ondisk';
import { DaemonError } from './codes.js';
import {
  MAX_ACQUIRE_WAIT_SECONDS,
  MAX_CLIENT_NAME_BYTES,
  MAX_LVB_BYTES,
  MAX_LVM_NAME_BYTES,
  MAX_MAPPING_SEGMENTS,
  MAX_PATH_BYTES,
  MAX_REQUEST_ID,
  RENEWAL_HISTORY_LENGTH,
} from './limits.js';
import type { Op, Request } from './messages.js';

const MAX_U64 = (1n << 64n) - 1n;

type FieldCheck = (value: unknown, field: string) => void;

interface FieldSpec {
  check: FieldCheck;
  optional?: boolean;
}

function bad(field: string, what: string): DaemonError {
  return new DaemonError('BAD_REQUEST', `field "${field}" ${what}`);
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

const name: FieldCheck = (value, field) => {
  if (typeof value !== 'string') throw bad(field, 'must be a string');
  if (value.length === 0 || utf8Bytes(value) > MAX_NAME_BYTES) throw bad(field, `must be 1-${MAX_NAME_BYTES} bytes`);
  if (value.includes('\0')) throw bad(field, 'must not contain NUL');
};

const path: FieldCheck = (value, field) => {
  if (typeof value !== 'string') throw bad(field, 'must be a string');
  if (!value.startsWith('/')) throw bad(field, 'must be an absolute path');
  if (utf8Bytes(value) > MAX_PATH_BYTES || value.includes('\0'))
    throw bad(field, `must be at most ${MAX_PATH_BYTES} bytes without NUL`);
};

const offset: FieldCheck = (value, field) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw bad(field, 'must be a non-negative integer');
};

const bool: FieldCheck = (value, field) => {
  if (typeof value !== 'boolean') throw bad(field, 'must be true or false');
};

const mode: FieldCheck = (value, field) => {
  if (value !== 'EX' && value !== 'SH') throw bad(field, 'must be "EX" or "SH"');
};

const u64: FieldCheck = (value, field) => {
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value) || BigInt(value) > MAX_U64)
    throw bad(field, 'must be a decimal u64 string');
};

const hostId: FieldCheck = (value, field) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_HOST_ID)
    throw bad(field, `must be an integer 1-${MAX_HOST_ID}`);
};

const pid: FieldCheck = (value, field) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 0x3fffffff)
    throw bad(field, 'must be a process id');
};

function intRange(min: number, max: number): FieldCheck {
  return (value, field) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw bad(field, `must be an integer ${min}-${max}`);
  };
}

function numberRange(min: number, max: number): FieldCheck {
  return (value, field) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
      throw bad(field, `must be a number ${min}-${max}`);
  };
}

const clientName: FieldCheck = (value, field) => {
  if (typeof value !== 'string' || utf8Bytes(value) > MAX_CLIENT_NAME_BYTES)
    throw bad(field, `must be a string of at most ${MAX_CLIENT_NAME_BYTES} bytes`);
};

const hostIdOrAuto: FieldCheck = (value, field) => {
  if (value === 'auto') return;
  hostId(value, field);
};

const lverOrNext: FieldCheck = (value, field) => {
  if (value === 'next') return;
  u64(value, field);
};

const lvbHex: FieldCheck = (value, field) => {
  if (typeof value !== 'string' || value.length > 2 * MAX_LVB_BYTES || !/^(?:[0-9a-fA-F]{2})*$/.test(value)) {
    throw bad(field, `must be hex of at most ${MAX_LVB_BYTES} bytes`);
  }
};

const forceMode: FieldCheck = (value, field) => {
  if (value !== 'none' && value !== 'force' && value !== 'graceful')
    throw bad(field, 'must be "none", "force" or "graceful"');
};

const lvmName: FieldCheck = (value, field) => {
  if (typeof value !== 'string' || value.length === 0 || utf8Bytes(value) > MAX_LVM_NAME_BYTES || value.includes('/'))
    throw bad(field, `must be an lvm name of 1-${MAX_LVM_NAME_BYTES} bytes without "/"`);
  if (value.includes('\0')) throw bad(field, 'must not contain NUL');
};

const sectors: FieldCheck = (value, field) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw bad(field, 'must be a non-negative integer (sectors)');
};

const MAPPING_FIELDS = ['vgName', 'lvName', 'lvUuid', 'sizeSectors', 'segments'];
const MAPPING_OPTIONAL_FIELDS = ['vgUuid'];
const SEGMENT_FIELDS = ['lvStartSectors', 'lengthSectors', 'pvPath', 'pvOffsetSectors'];

function exactFields(
  value: Record<string, unknown>,
  fields: readonly string[],
  field: string,
  optionalFields: readonly string[] = [],
): void {
  for (const key of Object.keys(value))
    if (!fields.includes(key) && !optionalFields.includes(key))
      throw bad(field, `has an unknown field "${key.slice(0, 64)}"`);
  for (const key of fields) if (value[key] === undefined) throw bad(`${field}.${key}`, 'is required');
}

/** An LvMapping: contiguous segments in LV order that cover exactly sizeSectors. */
const lvMapping: FieldCheck = (value, field) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(field, 'must be an object');
  const mapping = value as Record<string, unknown>;
  exactFields(mapping, MAPPING_FIELDS, field, MAPPING_OPTIONAL_FIELDS);
  if (mapping['vgUuid'] !== undefined) name(mapping['vgUuid'], `${field}.vgUuid`);
  lvmName(mapping['vgName'], `${field}.vgName`);
  lvmName(mapping['lvName'], `${field}.lvName`);
  name(mapping['lvUuid'], `${field}.lvUuid`);
  sectors(mapping['sizeSectors'], `${field}.sizeSectors`);
  const segments = mapping['segments'];
  if (!Array.isArray(segments) || segments.length === 0 || segments.length > MAX_MAPPING_SEGMENTS)
    throw bad(`${field}.segments`, `must be an array of 1-${MAX_MAPPING_SEGMENTS} segments`);
  let next = 0;
  for (const [i, segment] of segments.entries()) {
    const where = `${field}.segments[${i}]`;
    if (typeof segment !== 'object' || segment === null || Array.isArray(segment))
      throw bad(where, 'must be an object');
    const seg = segment as Record<string, unknown>;
    exactFields(seg, SEGMENT_FIELDS, where);
    sectors(seg['lvStartSectors'], `${where}.lvStartSectors`);
    sectors(seg['lengthSectors'], `${where}.lengthSectors`);
    sectors(seg['pvOffsetSectors'], `${where}.pvOffsetSectors`);
    path(seg['pvPath'], `${where}.pvPath`);
    if (seg['lvStartSectors'] !== next)
      throw bad(`${where}.lvStartSectors`, `must be ${next} (segments are contiguous)`);
    if (seg['lengthSectors'] === 0) throw bad(`${where}.lengthSectors`, 'must not be 0');
    next += seg['lengthSectors'] as number;
  }
  if (next !== mapping['sizeSectors']) throw bad(`${field}.sizeSectors`, `must be ${next}, the segments' total`);
};

const required = (check: FieldCheck): FieldSpec => ({ check });
const optional = (check: FieldCheck): FieldSpec => ({ check, optional: true });

const location = {
  lockspace: required(name),
  resource: required(name),
  path: required(path),
  offsetBytes: required(offset),
};

const SCHEMAS: Record<Op, Record<string, FieldSpec>> = {
  register: { name: optional(clientName), protocolVersion: optional(intRange(0, 1_000_000)) },
  acquire: {
    ...location,
    mode: required(mode),
    waitSeconds: optional(numberRange(0, MAX_ACQUIRE_WAIT_SECONDS)),
    lver: optional(u64),
    persistent: optional(bool),
    holderPid: optional(pid),
    lvb: optional(bool),
  },
  release: {
    lockspace: required(name),
    resource: required(name),
    persistent: optional(bool),
    holderPid: optional(pid),
    lvb: optional(lvbHex),
  },
  set_lvb: {
    lockspace: required(name),
    resource: required(name),
    data: required(lvbHex),
    persistent: optional(bool),
    holderPid: optional(pid),
  },
  get_lvb: {
    lockspace: required(name),
    resource: required(name),
    size: optional(intRange(0, MAX_LVB_BYTES)),
    persistent: optional(bool),
    holderPid: optional(pid),
  },
  convert: {
    lockspace: required(name),
    resource: required(name),
    mode: required(mode),
    persistent: optional(bool),
    holderPid: optional(pid),
  },
  inquire: { persistent: optional(bool) },
  request: { ...location, lver: required(lverOrNext), forceMode: required(forceMode) },
  set_event: {
    lockspace: required(name),
    hostId: required(hostId),
    event: required(u64),
    data: required(u64),
    generation: optional(u64),
    replace: optional(bool),
  },
  get_events: { lockspace: required(name), afterSeq: optional(intRange(0, Number.MAX_SAFE_INTEGER)) },
  status: {},
  host_status: { lockspace: required(name) },
  renewal_history: { lockspace: required(name), limit: optional(intRange(1, RENEWAL_HISTORY_LENGTH)) },
  lockstart: {
    lockspace: required(name),
    hostId: required(hostIdOrAuto),
    path: required(path),
    offsetBytes: required(offset),
    wait: optional(bool),
  },
  lockstop: { lockspace: required(name), wait: optional(bool) },
  activate: {
    ...location,
    mode: required(mode),
    mapping: required(lvMapping),
    vgSeqno: required(offset),
    waitSeconds: optional(numberRange(0, MAX_ACQUIRE_WAIT_SECONDS)),
  },
  deactivate: { lockspace: required(name), resource: required(name) },
  refresh: {
    lockspace: required(name),
    resource: required(name),
    mapping: required(lvMapping),
    vgSeqno: required(offset),
  },
  activations: { lockspace: optional(name) },
};

export const OPS = Object.keys(SCHEMAS) as Op[];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id of a parsed line if it has a valid one (so even a bad request's error can name it). */
export function requestIdOf(parsed: unknown): number | null {
  if (!isPlainObject(parsed)) return null;
  const id = parsed['id'];
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 && id <= MAX_REQUEST_ID ? id : null;
}

/** Checks a parsed line; returns its id and the typed request, or throws DaemonError. */
export function validateRequest(parsed: unknown): { id: number; request: Request } {
  if (!isPlainObject(parsed)) throw new DaemonError('BAD_REQUEST', 'a request must be a JSON object');
  const id = requestIdOf(parsed);
  if (id === null) throw new DaemonError('BAD_REQUEST', 'field "id" must be a non-negative integer');
  const op = parsed['op'];
  if (typeof op !== 'string') throw new DaemonError('BAD_REQUEST', 'field "op" must be a string');
  if (!Object.hasOwn(SCHEMAS, op)) {
    throw new DaemonError('UNKNOWN_OP', `unknown operation "${op.slice(0, 64)}"; known: ${OPS.join(', ')}`);
  }
  const schema = SCHEMAS[op as Op];
  for (const key of Object.keys(parsed)) {
    if (key === 'id' || key === 'op') continue;
    if (!Object.hasOwn(schema, key))
      throw new DaemonError('BAD_REQUEST', `unknown field "${key.slice(0, 64)}" for ${op}`);
  }
  for (const [field, spec] of Object.entries(schema)) {
    const value = parsed[field];
    if (value === undefined) {
      if (spec.optional) continue;
      throw bad(field, 'is required');
    }
    spec.check(value, field);
  }
  const { id: _id, ...request } = parsed;
  return { id, request: request as unknown as Request };
}
