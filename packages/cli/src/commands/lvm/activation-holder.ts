/**
 * Who holds an LV that could not be activated, in one line per host: host_id, host name, mode,
 * liveness (LIVE/FAIL/DEAD...) and the last renewal seen, from the daemon's refusal (ownerId and
 * mode, or the shared holders' hostIds) and the lockspace's host table.
 */
import type { HostInfo, LeaseholdClient } from '@leasehold/client';

function numberOf(raw: unknown): number | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
  if (typeof raw === 'string' && /^\d+$/.test(raw)) return Number(raw);
  return undefined;
}

/** The hosts a refusal names, with the mode each holds the lease in. */
export function holdersOfRefusal(
  code: string,
  details: Record<string, unknown> | undefined,
): Array<{ hostId: number; mode: 'EX' | 'SH' }> {
  if (code === 'SHARED_HOLDERS' || details?.['lastCode'] === 'SHARED_HOLDERS') {
    const ids = Array.isArray(details?.['hostIds']) ? (details['hostIds'] as unknown[]) : [];
    return ids.map(numberOf).flatMap((hostId) => (hostId === undefined ? [] : [{ hostId, mode: 'SH' as const }]));
  }
  const ownerId = numberOf(details?.['ownerId']);
  if (ownerId === undefined) return [];
  return [{ hostId: ownerId, mode: details?.['mode'] === 'SH' ? 'SH' : 'EX' }];
}

function describeHost(hostId: number, mode: string, host: HostInfo | undefined): string {
  if (host === undefined) return `host_id ${hostId} (${mode})`;
  const renewal =
    host.lastLiveSecondsAgo === null ? 'no renewal seen yet' : `last renewal ${host.lastLiveSecondsAgo} s ago`;
  return `host_id ${hostId} "${host.hostName}" (${mode}, ${host.state}, ${renewal})`;
}

/** "held by host_id 1 "host1" (EX, LIVE, last renewal 0.4 s ago)", or undefined when nobody is named. */
export async function holderLine(
  client: LeaseholdClient,
  lockspace: string,
  code: string,
  details: Record<string, unknown> | undefined,
): Promise<string | undefined> {
  const holders = holdersOfRefusal(code, details);
  if (holders.length === 0) {
    const local = details?.['holder'];
    return typeof local === 'string' ? `held on this host by ${local}` : undefined;
  }
  let hosts: HostInfo[] = [];
  try {
    hosts = (await client.hostStatus(lockspace)).hosts;
  } catch {
    // the host table is a nicety: the host_ids alone still name the holders
  }
  const named = holders.map((h) =>
    describeHost(
      h.hostId,
      h.mode,
      hosts.find((host) => host.hostId === h.hostId),
    ),
  );
  return `held by ${named.join(', ')}`;
}
