/**
 * Which host_id a lockstart tries first. Order: the one asked for, the one host-id.conf names, the
 * one this host used last time in this lockspace (only if still free), else a pick by the lane
 * (pickHostIdAndJoin: a free slot at random among the lowest, then a dead one).
 */
import type { HostIdSource } from './types.js';

export type HostIdChoice =
  | { kind: 'join'; hostId: number; onlyIfFree: boolean; source: HostIdSource }
  | { kind: 'pick'; source: 'picked' };

export function chooseHostId(
  request: number | 'auto',
  configured: number | undefined,
  remembered: number | undefined,
  rememberedTaken: boolean,
): HostIdChoice {
  if (typeof request === 'number') return { kind: 'join', hostId: request, onlyIfFree: false, source: 'given' };
  if (configured !== undefined) return { kind: 'join', hostId: configured, onlyIfFree: false, source: 'config' };
  if (remembered !== undefined && !rememberedTaken)
    return { kind: 'join', hostId: remembered, onlyIfFree: true, source: 'remembered' };
  return { kind: 'pick', source: 'picked' };
}

/** Join failures that mean "someone else has that slot": a remembered host_id is then forgotten. */
export const SLOT_TAKEN_CODES: ReadonlySet<string> = new Set(['HOSTID_BUSY', 'ABORTED']);
