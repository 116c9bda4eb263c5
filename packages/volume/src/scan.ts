/**
 * Device scan: the label of every device, the header and committed text of every mda (spec 2.5
 * steps 1-3). A scan opens devices read-only and never writes.
 */
import { type Disk, DiskError } from '@leasehold/disk';
import { openDirectDisk } from '@leasehold/disk/direct';
import {
  decodeMdaHeader,
  type DiskLocn,
  hasCommittedText,
  isMdaIgnored,
  LABEL_SCAN_SECTORS,
  leadingVgName,
  LvmFormatError,
  lvmCrc,
  type MdaHeader,
  MIN_PV_SIZE_BYTES,
  parseVgText,
  type PvLabel,
  rawLocnProblem,
  readPlan,
  scanLabel,
  SECTOR_SIZE_BYTES,
  type VgMetadata,
} from '@leasehold/lvm-format';
import { VolumeError } from './errors.js';
import { readBytes } from './io.js';

/** Opens devices for the volume layer (DirectDisk by default; tests pass in-memory disks). */
export interface DeviceOpener {
  open(path: string, options: { write: boolean }): Promise<Disk>;
}

export const directDeviceOpener: DeviceOpener = {
  async open(path, options) {
    try {
      return await openDirectDisk(path, { readOnly: !options.write });
    } catch (error) {
      const message = error instanceof DiskError ? error.message : String(error);
      throw new VolumeError('DEVICE_OPEN', `Cannot open ${path}: ${message}`, path, { cause: error });
    }
  },
};

/** One mda of a PV as read. */
export interface MdaState {
  /** 0 for mda1, 1 for mda2. */
  index: number;
  area: DiskLocn;
  /** The decoded header, or undefined when it is unusable (see problems). */
  header?: MdaHeader;
  ignored: boolean;
  /** The committed text (bytes, NUL included) when present and its checksum is right. */
  text?: Uint8Array;
  /** The parsed text, when it parsed and passed the VG checks. */
  metadata?: VgMetadata;
  /** What is wrong with this mda (header, checksum, syntax, VG checks), in lvm's wording. */
  problems: string[];
}

export interface PvDevice {
  path: string;
  sizeBytes: number;
  sectorSize: number;
  label: PvLabel;
  mdas: MdaState[];
}

export interface DeviceScan {
  /** Devices with a PV label, in scan order. */
  pvs: PvDevice[];
  /** Scanned paths without a PV label. */
  nonPvs: string[];
  /** Label-level problems and devices named explicitly that could not be read, in lvm's wording. */
  warnings: string[];
  /** Devices of a pattern scan that could not be opened (unattached loops, no medium ...): skipped quietly, as lvm does. */
  skipped: Array<{ path: string; reason: string }>;
}

export interface ScanOptions {
  opener?: DeviceOpener;
  /** Treat a device that cannot be opened as an error instead of a warning (devices named explicitly). */
  strict?: boolean;
}

/** Scans `paths` in order. */
export async function scanDevices(paths: readonly string[], options: ScanOptions = {}): Promise<DeviceScan> {
  const opener = options.opener ?? directDeviceOpener;
  const scan: DeviceScan = { pvs: [], nonPvs: [], warnings: [], skipped: [] };
  const parsed = new Map<string, VgMetadata | LvmFormatError>();
  for (const path of paths) {
    let disk: Disk;
    try {
      disk = await opener.open(path, { write: false });
    } catch (error) {
      if (options.strict === true) throw error;
      scan.skipped.push({ path, reason: (error as Error).message });
      continue;
    }
    try {
      const pv = await scanDisk(disk, path, parsed);
      if (pv.device === undefined) scan.nonPvs.push(path);
      else scan.pvs.push(pv.device);
      scan.warnings.push(...pv.warnings);
    } catch (error) {
      if (options.strict === true) throw error;
      scan.warnings.push(`Error reading ${path}: ${(error as Error).message}`);
    } finally {
      await disk.close();
    }
  }
  return scan;
}

/** Reads one device: label, mda headers, committed texts. No `device` when it carries no PV label. */
export async function scanDisk(
  disk: Disk,
  path: string,
  cache: Map<string, VgMetadata | LvmFormatError> = new Map(),
): Promise<{ device?: PvDevice; warnings: string[] }> {
  if (disk.sizeBytes < MIN_PV_SIZE_BYTES) return { warnings: [] };
  const head = await readBytes(disk, 0, LABEL_SCAN_SECTORS * SECTOR_SIZE_BYTES);
  const found = scanLabel(head);
  const warnings = found.warnings.map((w) => `${path}: ${w}`);
  if (found.label === undefined) return { warnings };
  const device: PvDevice = {
    path,
    sizeBytes: disk.sizeBytes,
    sectorSize: disk.sectorSize,
    label: found.label,
    mdas: [],
  };
  for (let index = 0; index < found.label.metadataAreas.length; index++) {
    const area = found.label.metadataAreas[index] as DiskLocn;
    device.mdas.push(await readMda(disk, path, index, area, cache));
  }
  return { device, warnings };
}

async function readMda(
  disk: Disk,
  path: string,
  index: number,
  area: DiskLocn,
  cache: Map<string, VgMetadata | LvmFormatError>,
): Promise<MdaState> {
  const state: MdaState = { index, area, ignored: false, problems: [] };
  if (area.offsetBytes + area.sizeBytes > disk.sizeBytes) {
    state.problems.push(
      `metadata area ${index + 1} on ${path} at ${area.offsetBytes} size ${area.sizeBytes} extends past the end of the device (${disk.sizeBytes})`,
    );
    return state;
  }
  const decoded = decodeMdaHeader(await readBytes(disk, area.offsetBytes, SECTOR_SIZE_BYTES), area.offsetBytes, path);
  if (!decoded.ok) {
    state.problems.push(...decoded.problems, `bad metadata header on ${path} in mda${index + 1}`);
    return state;
  }
  const header = decoded.header;
  state.header = header;
  state.ignored = isMdaIgnored(header);
  if (header.sizeBytes !== area.sizeBytes) {
    state.problems.push(
      `mda header on ${path} at ${area.offsetBytes} has size ${header.sizeBytes}, label says ${area.sizeBytes}`,
    );
    delete state.header;
    return state;
  }
  if (!hasCommittedText(header)) return state;
  const locn = header.committed;
  const locnProblem = rawLocnProblem(locn, header.sizeBytes);
  if (locnProblem !== undefined) {
    state.problems.push(`invalid metadata text location on ${path} at ${area.offsetBytes}: ${locnProblem}`);
    return state;
  }
  const pieces: Uint8Array[] = [];
  for (const part of readPlan(locn, header.sizeBytes))
    pieces.push(await readBytes(disk, area.offsetBytes + part.offsetBytes, part.lengthBytes));
  const text = pieces.length === 1 ? (pieces[0] as Uint8Array) : concat(pieces);
  const crc = lvmCrc(text);
  if (crc !== locn.checksum) {
    state.problems.push(
      `Checksum error on ${path} at offset ${area.offsetBytes + locn.offsetBytes} (text crc ${hex(crc)}, header says ${hex(locn.checksum)})`,
      `bad metadata text on ${path} in mda${index + 1}`,
    );
    return state;
  }
  state.text = text;
  const key = `${locn.checksum}:${locn.sizeBytes}`;
  let result = cache.get(key);
  if (result === undefined) {
    try {
      leadingVgName(text);
      result = parseVgText(text);
    } catch (error) {
      if (!(error instanceof LvmFormatError)) throw error;
      result = error;
    }
    cache.set(key, result);
  }
  if (result instanceof LvmFormatError) {
    const where = `on ${path} at offset ${area.offsetBytes + locn.offsetBytes}`;
    state.problems.push(
      `${result.message.replace(/\.$/, '')} (metadata ${where})`,
      `bad metadata text on ${path} in mda${index + 1}`,
    );
    return state;
  }
  // A copy shared by several mdas is parsed once and shared: treat it as read-only (readVg clones).
  state.metadata = result;
  return state;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
