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
import type { ParsedTextCache } from './text-cache.js';

/**
 * Bytes read from the start of a device in one I/O, as lvm's scan does: the label and, on most PVs,
 * the mda header and the text too, which then cost no read of their own.
 */
export const SCAN_PREFIX_BYTES = 128 * 1024;
/** Parsed texts remembered by this process (a command scans again after taking a lock). */
export const MAX_PARSED_TEXTS_IN_PROCESS = 16;

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
  /** Parsed texts from earlier commands (leasehold.conf's metadata cache); none by default. */
  textCache?: ParsedTextCache;
  /** Treat a device that cannot be opened as an error instead of a warning (devices named explicitly). */
  strict?: boolean;
}

/** Scans `paths` in order. */
export async function scanDevices(paths: readonly string[], options: ScanOptions = {}): Promise<DeviceScan> {
  const opener = options.opener ?? directDeviceOpener;
  const scan: DeviceScan = { pvs: [], nonPvs: [], warnings: [], skipped: [] };
  const parsed: TextParser = { cache: options.textCache };
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
  parser: TextParser = {},
): Promise<{ device?: PvDevice; warnings: string[] }> {
  if (disk.sizeBytes < MIN_PV_SIZE_BYTES) return { warnings: [] };
  const reader = await PrefixReader.open(disk);
  const found = scanLabel(await reader.read(0, LABEL_SCAN_SECTORS * SECTOR_SIZE_BYTES));
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
    device.mdas.push(await readMda(reader, path, index, area, parser));
  }
  return { device, warnings };
}

/** Reads byte ranges of a disk, from the prefix read at open when they lie in it. */
class PrefixReader {
  private constructor(
    readonly disk: Disk,
    private readonly prefix: Uint8Array,
  ) {}

  static async open(disk: Disk): Promise<PrefixReader> {
    return new PrefixReader(disk, await readBytes(disk, 0, Math.min(SCAN_PREFIX_BYTES, disk.sizeBytes)));
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    if (offsetBytes + lengthBytes <= this.prefix.length)
      return this.prefix.subarray(offsetBytes, offsetBytes + lengthBytes);
    return readBytes(this.disk, offsetBytes, lengthBytes);
  }
}

/** Parses texts once per process and, with a cache, once across commands. */
export interface TextParser {
  cache?: ParsedTextCache | undefined;
}

interface ParsedText {
  text: Uint8Array;
  result: VgMetadata | LvmFormatError;
}

/** This process's parsed texts by checksum and size, the bytes kept to compare (a scan after a lock reads them again). */
const parsedInProcess = new Map<string, ParsedText>();

function parseText(text: Uint8Array, checksum: number, parser: TextParser): VgMetadata | LvmFormatError {
  const key = `${checksum}:${text.length}`;
  const known = parsedInProcess.get(key);
  if (known !== undefined && Buffer.compare(known.text, text) === 0) return known.result;
  let result: VgMetadata | LvmFormatError | undefined = parser.cache?.get(text, checksum);
  if (result === undefined) {
    try {
      leadingVgName(text);
      result = parseVgText(text);
      parser.cache?.put(text, checksum, result);
    } catch (error) {
      if (!(error instanceof LvmFormatError)) throw error;
      result = error;
    }
  }
  if (parsedInProcess.size >= MAX_PARSED_TEXTS_IN_PROCESS) parsedInProcess.clear();
  parsedInProcess.set(key, { text, result });
  return result;
}

async function readMda(
  reader: PrefixReader,
  path: string,
  index: number,
  area: DiskLocn,
  parser: TextParser,
): Promise<MdaState> {
  const disk = reader.disk;
  const state: MdaState = { index, area, ignored: false, problems: [] };
  if (area.offsetBytes + area.sizeBytes > disk.sizeBytes) {
    state.problems.push(
      `metadata area ${index + 1} on ${path} at ${area.offsetBytes} size ${area.sizeBytes} extends past the end of the device (${disk.sizeBytes})`,
    );
    return state;
  }
  const decoded = decodeMdaHeader(await reader.read(area.offsetBytes, SECTOR_SIZE_BYTES), area.offsetBytes, path);
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
    pieces.push(await reader.read(area.offsetBytes + part.offsetBytes, part.lengthBytes));
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
  const result = parseText(text, locn.checksum, parser);
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
