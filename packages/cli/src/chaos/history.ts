/**
 * The chaos run's history: one JSON object per line, appended by the writers (inside the emulated
 * hosts) and by the harness (faults, resets, worker exits). Every event carries `tNs`, CLOCK_MONOTONIC
 * nanoseconds as a decimal string (one clock for every host: they share the machine's kernel), the
 * host's name (`host1`...), and its kind's fields:
 *
 *   activate-start|activate-ok|activate-fail  worker lv mode(EX|SH) epoch [code]
 *   write-start|write-ok|write-fail           worker lv epoch seq slot [code]
 *   read                                      worker lv epoch slot result(ok|mismatch|corrupt|foreign|empty)
 *   deactivate-start|deactivate-ok|deactivate-fail  worker lv epoch|null [code]   (null: the harness's
 *                                             cleanup of whatever this host still had active on lv)
 *   worker-exit                               worker code signal      (seen by the harness)
 *   fault                                     fault                   (the harness's fault, at its start)
 *   reset                                     (every process of the host is dead: watchdog fire or power off)
 *   boot                                      (the host runs again)
 *   daemon-start                              newGeneration           (the daemon started again after a
 *                                             kill; newGeneration: it could not resume its delta lease and
 *                                             joined with a new one, which frees its old leases at once)
 *   metadata                                  op lv ok               (lvcreate, lvextend, lvremove)
 *
 * epoch and seq are decimal strings (64-bit). Parsing checks every field: the checker must never
 * reason about a half-understood event.
 */

export const HISTORY_FORMAT_VERSION = 1;
/** A history with more events than this is refused (a 30-minute run writes well under a million). */
export const MAX_HISTORY_EVENTS = 5_000_000;

export type LeaseMode = 'EX' | 'SH';
export const FAULT_KINDS = [
  'kill-writer',
  'kill-daemon',
  'kill-companion',
  'freeze-long',
  'freeze-short',
  'storage-hang',
  'power-cycle',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Faults after which the host's delta lease may stop being renewed (so its leases may be taken). */
export const RENEWAL_STOPPING_FAULTS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'kill-daemon',
  'kill-companion',
  'freeze-long',
  'storage-hang',
  'power-cycle',
]);
export const READ_RESULTS = ['ok', 'mismatch', 'corrupt', 'foreign', 'empty'] as const;
export type ReadResult = (typeof READ_RESULTS)[number];

interface Base {
  tNs: bigint;
  host: string;
}
export interface ActivateEvent extends Base {
  kind: 'activate-start' | 'activate-ok' | 'activate-fail';
  worker: string;
  lv: string;
  mode: LeaseMode;
  epoch: bigint;
  code?: string;
}
export interface WriteEvent extends Base {
  kind: 'write-start' | 'write-ok' | 'write-fail';
  worker: string;
  lv: string;
  epoch: bigint;
  seq: bigint;
  slot: number;
  code?: string;
}
export interface ReadEvent extends Base {
  kind: 'read';
  worker: string;
  lv: string;
  epoch: bigint;
  slot: number;
  result: ReadResult;
}
export interface DeactivateEvent extends Base {
  kind: 'deactivate-start' | 'deactivate-ok' | 'deactivate-fail';
  worker: string;
  lv: string;
  epoch: bigint | null;
  code?: string;
}
export interface WorkerExitEvent extends Base {
  kind: 'worker-exit';
  worker: string;
  code: number | null;
  signal: string | null;
}
export interface FaultEvent extends Base {
  kind: 'fault';
  fault: FaultKind;
}
export interface HostEvent extends Base {
  kind: 'reset' | 'boot';
}
export interface DaemonStartEvent extends Base {
  kind: 'daemon-start';
  newGeneration: boolean;
}
export interface MetadataEvent extends Base {
  kind: 'metadata';
  op: string;
  lv: string;
  ok: boolean;
}
export type HistoryEvent =
  | ActivateEvent
  | WriteEvent
  | ReadEvent
  | DeactivateEvent
  | WorkerExitEvent
  | FaultEvent
  | HostEvent
  | DaemonStartEvent
  | MetadataEvent;

export class HistoryError extends Error {
  override readonly name = 'HistoryError';
}

type Json = Record<string, unknown>;

function bigintField(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) throw new HistoryError(`${what}: not a decimal string`);
  return BigInt(value);
}
function stringField(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new HistoryError(`${what}: not a non-empty string`);
  return value;
}
function slotField(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new HistoryError(`${what}: not a slot`);
  return value;
}
function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw new HistoryError(`${what}: not one of ${allowed.join(', ')}`);
  return value as T;
}
function optionalCode(value: unknown): { code?: string } {
  return typeof value === 'string' ? { code: value } : {};
}

/** One event from its JSON object (throws HistoryError naming the bad field). */
export function parseEvent(raw: Json): HistoryEvent {
  const base: Base = { tNs: bigintField(raw['tNs'], 'tNs'), host: stringField(raw['host'], 'host') };
  const kind = raw['kind'];
  switch (kind) {
    case 'activate-start':
    case 'activate-ok':
    case 'activate-fail':
      return {
        ...base,
        kind,
        worker: stringField(raw['worker'], 'worker'),
        lv: stringField(raw['lv'], 'lv'),
        mode: oneOf(raw['mode'], ['EX', 'SH'], 'mode'),
        epoch: bigintField(raw['epoch'], 'epoch'),
        ...optionalCode(raw['code']),
      };
    case 'write-start':
    case 'write-ok':
    case 'write-fail':
      return {
        ...base,
        kind,
        worker: stringField(raw['worker'], 'worker'),
        lv: stringField(raw['lv'], 'lv'),
        epoch: bigintField(raw['epoch'], 'epoch'),
        seq: bigintField(raw['seq'], 'seq'),
        slot: slotField(raw['slot'], 'slot'),
        ...optionalCode(raw['code']),
      };
    case 'read':
      return {
        ...base,
        kind,
        worker: stringField(raw['worker'], 'worker'),
        lv: stringField(raw['lv'], 'lv'),
        epoch: bigintField(raw['epoch'], 'epoch'),
        slot: slotField(raw['slot'], 'slot'),
        result: oneOf(raw['result'], READ_RESULTS, 'result'),
      };
    case 'deactivate-start':
    case 'deactivate-ok':
    case 'deactivate-fail':
      return {
        ...base,
        kind,
        worker: stringField(raw['worker'], 'worker'),
        lv: stringField(raw['lv'], 'lv'),
        epoch: raw['epoch'] === null ? null : bigintField(raw['epoch'], 'epoch'),
        ...optionalCode(raw['code']),
      };
    case 'worker-exit':
      return {
        ...base,
        kind,
        worker: stringField(raw['worker'], 'worker'),
        code: typeof raw['code'] === 'number' ? raw['code'] : null,
        signal: typeof raw['signal'] === 'string' ? raw['signal'] : null,
      };
    case 'fault':
      return { ...base, kind, fault: oneOf(raw['fault'], FAULT_KINDS, 'fault') };
    case 'reset':
    case 'boot':
      return { ...base, kind };
    case 'daemon-start':
      if (typeof raw['newGeneration'] !== 'boolean') throw new HistoryError('newGeneration: not a boolean');
      return { ...base, kind, newGeneration: raw['newGeneration'] };
    case 'metadata':
      return {
        ...base,
        kind,
        op: stringField(raw['op'], 'op'),
        lv: stringField(raw['lv'], 'lv'),
        ok: raw['ok'] === true,
      };
    default:
      throw new HistoryError(`unknown event kind ${JSON.stringify(kind)}`);
  }
}

/** The JSON line of an event (bigints as decimal strings). */
export function formatEvent(event: HistoryEvent): string {
  return JSON.stringify(event, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/**
 * Every event of a JSON-lines text. A last line cut short (a writer killed mid-append) is dropped;
 * any other bad line is an error naming its line.
 */
export function parseHistory(text: string, source: string): HistoryEvent[] {
  const lines = text.split('\n');
  const events: HistoryEvent[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      if (index === lines.length - 1) break;
      throw new HistoryError(`${source}:${index + 1}: not JSON`);
    }
    if (typeof raw !== 'object' || raw === null) throw new HistoryError(`${source}:${index + 1}: not an object`);
    try {
      events.push(parseEvent(raw as Json));
    } catch (error) {
      throw new HistoryError(`${source}:${index + 1}: ${(error as Error).message}`);
    }
    if (events.length > MAX_HISTORY_EVENTS) throw new HistoryError(`${source}: more than ${MAX_HISTORY_EVENTS} events`);
  }
  return events;
}
