/**
 * What a device already carries before pvcreate/vgcreate may write to it: filesystems, swap,
 * partition tables, md superblocks (util-linux `wipefs -n`, which asks libblkid as lvm does), and
 * sanlock or leasehold lease areas (their leader magic at the start of a 1 MiB-aligned area in the
 * first MiBs, which blkid does not know). LVM labels are found by the volume scan, not here.
 *
 * Not @leasehold/disk's probeSignatures: lvm's messages and its wipe name each signature by the
 * offset of its magic as wipefs reports it (ext4 at 1080), where that probe reports blkid's start of
 * the thing (ext4 at 0) to name what would be overwritten.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { CLEAR_LEADER_MAGIC, DELTA_LEADER_MAGIC, PAXOS_LEADER_MAGIC } from '@leasehold/ondisk';

export interface FoundSignature {
  kind: string;
  offsetBytes: number;
  description: string;
}

/** Lease areas are looked for at these offsets (sanlock and lvmlockd align areas to 1 MiB). */
const LEASE_PROBE_OFFSETS_BYTES = [0, 1024 * 1024, 2 * 1024 * 1024, 3 * 1024 * 1024] as const;
const LEASE_MAGICS: ReadonlyMap<number, string> = new Map([
  [DELTA_LEADER_MAGIC, 'sanlock delta lease area'],
  [PAXOS_LEADER_MAGIC, 'sanlock paxos lease'],
  [CLEAR_LEADER_MAGIC, 'sanlock paxos lease (cleared)'],
]);
const WIPEFS_TIMEOUT_MS = 30_000;
/** A lease area is made unrecognisable by zeroing the sector that holds its magic (4 KiB covers 4K-sector areas). */
const LEASE_WIPE_BYTES = 4096;
/** Signatures wipefs may list for one device before we stop reading (a bound, not a real limit). */
const MAX_SIGNATURES = 64;
/** blkid's name for an LVM PV: the volume scan reports those itself. */
const LVM_MEMBER_TYPE = 'LVM2_member';

interface WipefsJson {
  signatures?: Array<{ offset?: string; type?: string; uuid?: string | null; label?: string | null }>;
}

function runWipefs(path: string): Promise<FoundSignature[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'wipefs',
      ['--no-act', '--json', path],
      { timeout: WIPEFS_TIMEOUT_MS, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`wipefs -n ${path} failed: ${(stderr || error.message).trim()}`));
          return;
        }
        if (stdout.trim() === '') {
          resolve([]);
          return;
        }
        let parsed: WipefsJson;
        try {
          parsed = JSON.parse(stdout) as WipefsJson;
        } catch {
          reject(new Error(`wipefs -n ${path} printed something that is not JSON`));
          return;
        }
        const found: FoundSignature[] = [];
        for (const sig of (parsed.signatures ?? []).slice(0, MAX_SIGNATURES)) {
          const type = sig.type ?? 'unknown';
          if (type === LVM_MEMBER_TYPE) continue;
          const offsetBytes = Number.parseInt(sig.offset ?? '0', 16);
          const extra = sig.label ? ` (label "${sig.label}")` : sig.uuid ? ` (UUID ${sig.uuid})` : '';
          found.push({ kind: type, offsetBytes, description: `${type}${extra}` });
        }
        resolve(found);
      },
    );
  });
}

function leaseAreas(path: string): FoundSignature[] {
  const found: FoundSignature[] = [];
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(4);
    for (const offsetBytes of LEASE_PROBE_OFFSETS_BYTES) {
      if (readSync(fd, buffer, 0, 4, offsetBytes) < 4) break;
      const kind = LEASE_MAGICS.get(buffer.readUInt32LE(0));
      if (kind !== undefined) found.push({ kind: 'sanlock', offsetBytes, description: kind });
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

/** Every signature on `path` except LVM labels; sorted by offset. */
export async function probeForeignSignatures(path: string): Promise<FoundSignature[]> {
  const found = [...(await runWipefs(path)), ...leaseAreas(path)];
  return found.sort((a, b) => a.offsetBytes - b.offsetBytes);
}

/** Lease areas (sanlock's kinds here and in @leasehold/disk's probe: 'sanlock', 'sanlock-lockspace', 'sanlock-resource'). */
export function isLeaseArea(found: Pick<FoundSignature, 'kind'>): boolean {
  return found.kind.startsWith('sanlock');
}

/** Removes the signatures wipefs knows (lvm's "Wipe it? y"); lease areas are zeroed at their first sector. */
export function wipeSignatures(path: string, found: readonly FoundSignature[]): Promise<void> {
  const offsets = [...new Set(found.filter((f) => !isLeaseArea(f)).map((f) => f.offsetBytes))];
  const leases = found.filter(isLeaseArea);
  return new Promise((resolve, reject) => {
    const zeroLeases = (): void => {
      try {
        const fd = openSync(path, 'r+');
        try {
          for (const lease of leases) {
            const zero = Buffer.alloc(LEASE_WIPE_BYTES);
            writeSync(fd, zero, 0, zero.length, lease.offsetBytes);
          }
        } finally {
          closeSync(fd);
        }
        resolve();
      } catch (error) {
        reject(error as Error);
      }
    };
    if (offsets.length === 0) {
      zeroLeases();
      return;
    }
    const args = ['--quiet', ...offsets.flatMap((o) => ['--offset', String(o)]), path];
    execFile('wipefs', args, { timeout: WIPEFS_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`wipefs ${path} failed: ${String(stderr).trim() || error.message}`));
      else zeroLeases();
    });
  });
}
