/**
 * What a device or image already carries, so commands that initialise an area (direct init,
 * pvcreate, vgcreate) can refuse to overwrite it without --force and say what they found.
 *
 * util-linux knows file systems, partition tables, swap, RAID and LVM labels: `blkid -p` (low-level
 * probe, no cache) says what starts at the probed offset, `wipefs -n --json` (no-act) lists every
 * signature it knows anywhere on the device. It knows nothing of sanlock, so lease areas (delta or
 * paxos leader magic at align boundaries) are recognised here; LVM2 labels are read here too, to
 * name the VG from the metadata text.
 */
import { execFile } from 'node:child_process';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import {
  CLEAR_LEADER_MAGIC,
  DELTA_LEADER_MAGIC,
  MIB,
  PAXOS_LEADER_MAGIC,
  decodeLeader,
  geometryFromLeader,
  type LeaderRecord,
} from '@leasehold/ondisk';
import { SYSFS_SIZE_UNIT_BYTES } from './constants.js';
import { splitDeviceNumber } from './device-number.js';

export interface FoundSignature {
  /** 'ext4' | 'xfs' | 'swap' | 'gpt' | 'dos' | 'LVM2_member' | 'sanlock-lockspace' | 'sanlock-resource' | 'linux_raid_member' | ... */
  kind: string;
  /** Where the thing starts (a file system's first byte, a lease area's first sector, an LVM label's sector). */
  offsetBytes: number;
  /** For a user: 'ext4 filesystem at 0', 'LVM2 PV of VG vg1 at 512', 'sanlock lockspace "ls1" at 0'. */
  description: string;
  /** Lease areas: the lockspace name (and the resource name), so a caller can tell its own from others'. */
  spaceName?: string;
  resourceName?: string;
  /** Lease areas: their sector size and align size. */
  sectorSize?: number;
  alignBytes?: number;
  /** LVM2 labels: the VG named by the metadata text, when it is readable. */
  vgName?: string;
}

export interface SignatureProbeOptions {
  /** Probe only signatures that start in [offsetBytes, offsetBytes + sizeBytes); default the whole device. */
  offsetBytes?: number;
  sizeBytes?: number;
}

/** The util-linux tools asked; resolved through PATH (Debian: /usr/sbin and /sbin). */
const BLKID = 'blkid';
const WIPEFS = 'wipefs';
const TOOL_PATH = '/usr/sbin:/sbin:/usr/bin:/bin';
const TOOL_TIMEOUT_MS = 30_000;
const TOOL_MAX_OUTPUT_BYTES = 1024 * 1024;
/** blkid's status when it found nothing. */
const BLKID_NOTHING_FOUND = 2;
/** Lease areas are looked for at every 1 MiB (the smallest align) in at most this much of the device. */
export const MAX_LEASE_SCAN_BYTES = 4 * 1024 * MIB;
/** Bytes read at each candidate offset: one sector of the largest size. */
const LEASE_PROBE_BYTES = 4096;
/** LVM looks for its label in sectors 0-3 (LABEL_SCAN_SECTORS). */
const LVM_LABEL_SECTORS = 4;
const LVM_SECTOR_BYTES = 512;
/** Most signatures reported; a device cannot carry more that matter. */
export const MAX_SIGNATURES = 64;

/** A probe that could not run (the tool is missing, the device cannot be read). */
export class SignatureProbeError extends Error {
  override readonly name = 'SignatureProbeError';
  readonly code = 'PROBE_FAILED';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

interface ToolResult {
  status: number;
  stdout: string;
  stderr: string;
}

function runTool(tool: string, args: string[]): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      args,
      {
        timeout: TOOL_TIMEOUT_MS,
        maxBuffer: TOOL_MAX_OUTPUT_BYTES,
        env: { ...process.env, PATH: `${TOOL_PATH}:${process.env['PATH'] ?? ''}`, LC_ALL: 'C' },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(
            new SignatureProbeError(
              `cannot run ${tool} (util-linux) to check the device for signatures: ${error.message}`,
              { cause: error },
            ),
          );
          return;
        }
        resolve({ status: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** `KEY=value` lines of `blkid -o export`. */
function parseExport(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}

/** 'ext4 filesystem', 'swap area', 'LVM2 PV', 'linux_raid_member RAID member', ... */
function thingName(usage: string | undefined, type: string): string {
  if (type === 'swap') return 'swap area';
  if (type === 'LVM2_member') return 'LVM2 PV';
  if (usage === 'filesystem') return `${type} filesystem`;
  if (usage === 'raid') return `${type} RAID member`;
  if (usage === 'crypto') return `${type} encrypted volume`;
  return `${type} signature`;
}

/** What blkid's low-level probe finds starting at `offsetBytes`. */
async function blkidAt(path: string, offsetBytes: number, sizeBytes: number | undefined): Promise<FoundSignature[]> {
  const args = ['-p', '-o', 'export'];
  if (offsetBytes > 0) args.push('-O', String(offsetBytes));
  if (sizeBytes !== undefined) args.push('-S', String(sizeBytes));
  const result = await runTool(BLKID, [...args, path]);
  if (result.status === BLKID_NOTHING_FOUND) return [];
  const fields = parseExport(result.stdout);
  const found: FoundSignature[] = [];
  const type = fields.get('TYPE');
  if (type !== undefined) {
    const label = fields.get('LABEL');
    const labelText = label === undefined ? '' : ` "${label}"`;
    found.push({
      kind: type,
      offsetBytes,
      description: `${thingName(fields.get('USAGE'), type)}${labelText} at ${offsetBytes}`,
    });
  }
  const table = fields.get('PTTYPE');
  if (table !== undefined)
    found.push({ kind: table, offsetBytes, description: `${table} partition table at ${offsetBytes}` });
  if (found.length === 0 && result.status !== 0) {
    // "ambivalent result": more than one signature here; wipefs lists them.
    const why = result.stderr.trim();
    if (why !== '')
      found.push({
        kind: 'ambivalent',
        offsetBytes,
        description: `several signatures at ${offsetBytes} (blkid: ${why})`,
      });
  }
  return found;
}

interface WipefsJson {
  signatures?: Array<{ offset?: string; type?: string; label?: string | null }>;
}

/** Every signature wipefs knows anywhere on the device (offsets of the magic bytes). */
async function wipefsAll(path: string): Promise<FoundSignature[]> {
  const result = await runTool(WIPEFS, ['-n', '--json', path]);
  if (result.status !== 0)
    throw new SignatureProbeError(`wipefs -n ${path} failed: ${result.stderr.trim() || `status ${result.status}`}`);
  if (result.stdout.trim() === '') return [];
  let parsed: WipefsJson;
  try {
    parsed = JSON.parse(result.stdout) as WipefsJson;
  } catch (error) {
    throw new SignatureProbeError(`wipefs -n --json ${path} printed something that is not JSON`, { cause: error });
  }
  const found: FoundSignature[] = [];
  for (const signature of parsed.signatures ?? []) {
    if (signature.type === undefined || signature.offset === undefined) continue;
    const offsetBytes = Number(signature.offset);
    if (!Number.isSafeInteger(offsetBytes)) continue;
    found.push({
      kind: signature.type,
      offsetBytes,
      description: `${signature.type} signature at byte ${offsetBytes}`,
    });
  }
  return found;
}

async function readAt(file: FileHandle, offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
  const buffer = Buffer.alloc(lengthBytes);
  const { bytesRead } = await file.read(buffer, 0, lengthBytes, offsetBytes);
  return buffer.subarray(0, bytesRead);
}

const ascii = (bytes: Uint8Array, start: number, length: number): string =>
  Buffer.from(bytes.subarray(start, start + length)).toString('latin1');

/** The VG name from the first metadata area's text, when the label points at a readable one. */
async function lvmVgName(file: FileHandle, label: Uint8Array): Promise<string | undefined> {
  const view = new DataView(label.buffer, label.byteOffset, label.byteLength);
  const pvHeader = view.getUint32(20, true);
  // pv_header: uuid[32], device_size u64, then the data-area list and the metadata-area list, each
  // of {offset u64, size u64} ending with a zero entry.
  let at = pvHeader + 40;
  const next = (): [bigint, bigint] | undefined => {
    if (at + 16 > label.length) return undefined;
    const entry: [bigint, bigint] = [view.getBigUint64(at, true), view.getBigUint64(at + 8, true)];
    at += 16;
    return entry;
  };
  for (let entry = next(); entry !== undefined && entry[0] !== 0n; entry = next());
  const mda = next();
  if (mda === undefined || mda[0] === 0n) return undefined;
  const mdaOffsetBytes = Number(mda[0]);
  const header = await readAt(file, mdaOffsetBytes, LVM_SECTOR_BYTES);
  if (header.length < LVM_SECTOR_BYTES || ascii(header, 4, 16) !== ' LVM2 x[5A%r0N*>') return undefined;
  const headerView = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const textOffset = Number(headerView.getBigUint64(40, true));
  const textSize = Number(headerView.getBigUint64(48, true));
  if (textOffset === 0 || textSize === 0) return undefined;
  const text = ascii(
    await readAt(file, mdaOffsetBytes + textOffset, Math.min(textSize, LVM_SECTOR_BYTES)),
    0,
    LVM_SECTOR_BYTES,
  );
  return /^([A-Za-z0-9_.+-]+) \{/.exec(text)?.[1];
}

/** LVM2 labels in sectors 0-3 (LABELONE at byte 0, LVM2 001 at byte 24), as lvm looks for them. */
async function lvmLabels(file: FileHandle): Promise<FoundSignature[]> {
  const head = await readAt(file, 0, LVM_LABEL_SECTORS * LVM_SECTOR_BYTES);
  for (let sector = 0; sector < LVM_LABEL_SECTORS; sector++) {
    const at = sector * LVM_SECTOR_BYTES;
    if (head.length < at + LVM_SECTOR_BYTES) break;
    if (ascii(head, at, 8) !== 'LABELONE' || ascii(head, at + 24, 8) !== 'LVM2 001') continue;
    const label = head.subarray(at, at + LVM_SECTOR_BYTES);
    const vgName = await lvmVgName(file, label).catch(() => undefined);
    const of = vgName === undefined ? 'not in a VG (or its metadata is unreadable)' : `of VG ${vgName}`;
    return [
      {
        kind: 'LVM2_member',
        offsetBytes: at,
        description: `LVM2 PV ${of} at ${at}`,
        ...(vgName === undefined ? {} : { vgName }),
      },
    ];
  }
  return [];
}

function leaseArea(leader: LeaderRecord, offsetBytes: number): FoundSignature | undefined {
  let geometry: { sectorSize: number; alignBytes: number };
  try {
    geometry = geometryFromLeader(leader.sectorSize, leader.flags);
  } catch {
    return undefined;
  }
  const common = {
    offsetBytes,
    spaceName: leader.spaceName,
    sectorSize: geometry.sectorSize,
    alignBytes: geometry.alignBytes,
  };
  if (leader.magic === DELTA_LEADER_MAGIC) {
    return {
      kind: 'sanlock-lockspace',
      description: `sanlock lockspace "${leader.spaceName}" at ${offsetBytes}`,
      ...common,
    };
  }
  const cleared = leader.magic === CLEAR_LEADER_MAGIC ? 'cleared ' : '';
  return {
    kind: 'sanlock-resource',
    description: `sanlock ${cleared}resource "${leader.spaceName}:${leader.resourceName}" at ${offsetBytes}`,
    resourceName: leader.resourceName,
    ...common,
  };
}

/** Lease areas (delta or paxos leaders) at every 1 MiB boundary of [start, end). */
async function leaseAreas(file: FileHandle, startBytes: number, endBytes: number): Promise<FoundSignature[]> {
  const found: FoundSignature[] = [];
  const first = Math.ceil(startBytes / MIB) * MIB;
  const candidates = first === startBytes ? [] : [startBytes];
  for (let at = first; at < endBytes && at - startBytes < MAX_LEASE_SCAN_BYTES; at += MIB) candidates.push(at);
  for (let i = 0; i < candidates.length && found.length < MAX_SIGNATURES; i++) {
    const at = candidates[i] ?? 0;
    const sector = await readAt(file, at, LEASE_PROBE_BYTES);
    if (sector.length < LEASE_PROBE_BYTES) continue;
    const leader = decodeLeader(sector, 0);
    if (
      leader.magic !== DELTA_LEADER_MAGIC &&
      leader.magic !== PAXOS_LEADER_MAGIC &&
      leader.magic !== CLEAR_LEADER_MAGIC
    )
      continue;
    const area = leaseArea(leader, at);
    if (area === undefined) continue;
    found.push(area);
    // Skip the rest of the area: its other sectors are host records and dblocks, not new areas.
    while ((candidates[i + 1] ?? Infinity) < at + (area.alignBytes ?? MIB)) i++;
  }
  return found;
}

/**
 * Everything found on the device (or in the given range): file systems, partition tables, swap,
 * RAID and LVM2 labels (util-linux, plus our own LVM2 reader for the VG name), and sanlock/leasehold
 * lease areas. Throws SignatureProbeError (code PROBE_FAILED) when the tools cannot run.
 */
export async function probeSignatures(
  devicePath: string,
  options: SignatureProbeOptions = {},
): Promise<FoundSignature[]> {
  const startBytes = options.offsetBytes ?? 0;
  let file: FileHandle;
  try {
    file = await open(devicePath, 'r');
  } catch (error) {
    throw new SignatureProbeError(`cannot read ${devicePath} to check it for signatures: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const deviceBytes = await sizeOf(file, devicePath);
    const endBytes =
      options.sizeBytes === undefined ? deviceBytes : Math.min(deviceBytes, startBytes + options.sizeBytes);
    const inRange = (s: FoundSignature): boolean => s.offsetBytes >= startBytes && s.offsetBytes < endBytes;
    const [atStart, everywhere, lvm, leases] = await Promise.all([
      blkidAt(devicePath, startBytes, options.sizeBytes),
      wipefsAll(devicePath),
      startBytes === 0 ? lvmLabels(file) : Promise.resolve([]),
      leaseAreas(file, startBytes, endBytes),
    ]);
    return mergeSignatures([...lvm, ...atStart, ...everywhere.filter(inRange), ...leases]);
  } finally {
    await file.close();
  }
}

/** A file's size, or a block device's from sysfs (no native code here: the lease layer loads this module). */
async function sizeOf(file: FileHandle, devicePath: string): Promise<number> {
  const stat = await file.stat({ bigint: true });
  if (!stat.isBlockDevice()) return Number(stat.size);
  const { major, minor } = splitDeviceNumber(stat.rdev);
  try {
    return Number((await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8')).trim()) * SYSFS_SIZE_UNIT_BYTES;
  } catch (error) {
    throw new SignatureProbeError(`cannot tell the size of ${devicePath} from sysfs`, { cause: error });
  }
}

/** Kinds a device may carry several of, each to be named (lease areas at their offsets). */
const REPEATABLE_KINDS: ReadonlySet<string> = new Set(['sanlock-lockspace', 'sanlock-resource']);

/**
 * One entry per thing, the most specific first in `all`: our LVM2 reader (it names the VG) before
 * blkid (where the thing starts) before wipefs (where its magic bytes are; GPT's backup header).
 */
function mergeSignatures(all: FoundSignature[]): FoundSignature[] {
  const result: FoundSignature[] = [];
  for (const signature of all) {
    if (signature.kind === 'PMBR' && all.some((s) => s.kind === 'gpt')) continue; // GPT's protective MBR
    const seen = REPEATABLE_KINDS.has(signature.kind)
      ? result.some((s) => s.kind === signature.kind && s.offsetBytes === signature.offsetBytes)
      : result.some((s) => s.kind === signature.kind);
    if (seen) continue;
    result.push(signature);
    if (result.length >= MAX_SIGNATURES) break;
  }
  return result;
}

/** 'ext4 filesystem at 0, LVM2 PV of VG vg1 at 512' (or 'nothing'). */
export function describeSignatures(found: readonly FoundSignature[]): string {
  return found.length === 0 ? 'nothing' : found.map((s) => s.description).join(', ');
}
