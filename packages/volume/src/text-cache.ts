/**
 * A cache of parsed metadata texts between commands. Parsing the text of a VG of 1000 LVs (280 KB)
 * is most of a cold `lvs`; the model as JSON loads 20-40 times faster. An entry holds the exact text
 * bytes it was parsed from and is used only for the very same bytes (after the scan checked them
 * against the mda header's checksum, as always), so it is a memo of a pure function: it can never
 * stand for other metadata. Entries are written only for texts that parsed and passed every check.
 *
 * Safety: the directory and every file must belong to this user and be writable by no one else
 * (otherwise the cache is not used); files are written whole and renamed into place; a file that
 * is short, damaged or from another parser revision is a miss. Nothing here ever fails a command.
 */
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { lvmCrc, VG_IMPORT_REVISION, type VgMetadata } from '@leasehold/lvm-format';

/** Where the cache lives unless leasehold.conf's `metadata_cache_dir` says otherwise (tmpfs: gone at boot). */
export const DEFAULT_METADATA_CACHE_DIR = '/run/leasehold/metadata-cache';
/** Entries kept; the oldest go when a write finds more (each commit makes a new text). */
export const MAX_METADATA_CACHE_ENTRIES = 64;
/** Texts smaller than this are parsed: that costs less than reading and writing an entry. */
export const MIN_CACHED_TEXT_BYTES = 16 * 1024;
/** Texts larger than this are not cached (lvm's largest metadata area is far smaller). */
export const MAX_CACHED_TEXT_BYTES = 64 * 1024 * 1024;
const MAGIC = 'leasehold-vg-text-cache';
const FORMAT = 1;
const ENTRY_SUFFIX = '.vgtext';
const MAX_HEADER_BYTES = 256;
/** Group- or world-writable: someone else could plant an entry. */
const OTHERS_WRITE_MODE = 0o022;

export interface ParsedTextCache {
  /** The model parsed from exactly `text` (whose lvm checksum is `checksum`), when cached. */
  get(text: Uint8Array, checksum: number): VgMetadata | undefined;
  /** Remembers the model parsed from `text`. */
  put(text: Uint8Array, checksum: number, metadata: VgMetadata): void;
}

function entryName(text: Uint8Array, checksum: number): string {
  return `${checksum.toString(16).padStart(8, '0')}-${text.length}${ENTRY_SUFFIX}`;
}

function ownedAndPrivate(mode: number, uid: number): boolean {
  return uid === process.geteuid?.() && (mode & OTHERS_WRITE_MODE) === 0;
}

function readWhole(path: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    if (!st.isFile() || !ownedAndPrivate(st.mode, st.uid) || st.size > 2 * MAX_CACHED_TEXT_BYTES) return undefined;
    const data = Buffer.allocUnsafe(st.size);
    if (readSync(fd, data, 0, st.size, 0) !== st.size) return undefined;
    return data;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The header line: magic, format, parser revision, text bytes, model bytes, the model's lvm CRC. */
function header(textBytes: number, modelBytes: number, modelCrc: number): string {
  return `${MAGIC} ${FORMAT} ${VG_IMPORT_REVISION} ${textBytes} ${modelBytes} ${modelCrc}\n`;
}

/** Decodes an entry for `text`, or undefined when it is for other bytes, damaged or stale. */
export function decodeEntry(data: Uint8Array, text: Uint8Array): VgMetadata | undefined {
  const newline = data.subarray(0, MAX_HEADER_BYTES).indexOf(0x0a);
  if (newline < 0) return undefined;
  const fields = Buffer.from(data.subarray(0, newline)).toString('latin1').split(' ');
  const [magic, format, revision, textBytes, modelBytes, modelCrc] = fields;
  if (fields.length !== 6 || magic !== MAGIC || Number(format) !== FORMAT) return undefined;
  if (Number(revision) !== VG_IMPORT_REVISION || Number(textBytes) !== text.length) return undefined;
  const textStart = newline + 1;
  const modelStart = textStart + text.length;
  if (data.length !== modelStart + Number(modelBytes)) return undefined;
  if (Buffer.compare(data.subarray(textStart, modelStart), text) !== 0) return undefined;
  const model = data.subarray(modelStart);
  if (lvmCrc(model) !== Number(modelCrc)) return undefined;
  try {
    return JSON.parse(Buffer.from(model.buffer, model.byteOffset, model.length).toString('utf8')) as VgMetadata;
  } catch {
    return undefined;
  }
}

export function encodeEntry(text: Uint8Array, metadata: VgMetadata): Buffer {
  const model = Buffer.from(JSON.stringify(metadata), 'utf8');
  return Buffer.concat([Buffer.from(header(text.length, model.length, lvmCrc(model)), 'latin1'), text, model]);
}

/** Drops the oldest entries beyond the limit (best effort). */
function prune(dir: string): void {
  const names = readdirSync(dir).filter((n) => n.endsWith(ENTRY_SUFFIX));
  if (names.length <= MAX_METADATA_CACHE_ENTRIES) return;
  const aged = names.map((name) => ({
    name,
    mtimeMs: statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0,
  }));
  aged.sort((a, b) => a.mtimeMs - b.mtimeMs);
  for (const { name } of aged.slice(0, aged.length - MAX_METADATA_CACHE_ENTRIES)) unlinkSync(join(dir, name));
}

/** The cache in `dir`, created (mode 0700) at the first write; no cache at all when `dir` is unsafe. */
export function directoryTextCache(dir: string): ParsedTextCache {
  const usable = (): boolean => {
    const st = lstatSync(dir, { throwIfNoEntry: false });
    return st?.isDirectory() === true && ownedAndPrivate(st.mode, st.uid);
  };
  return {
    get(text, checksum) {
      if (text.length < MIN_CACHED_TEXT_BYTES || text.length > MAX_CACHED_TEXT_BYTES) return undefined;
      try {
        if (!usable()) return undefined;
      } catch {
        return undefined;
      }
      const data = readWhole(join(dir, entryName(text, checksum)));
      return data === undefined ? undefined : decodeEntry(data, text);
    },
    put(text, checksum, metadata) {
      if (text.length < MIN_CACHED_TEXT_BYTES || text.length > MAX_CACHED_TEXT_BYTES) return;
      const path = join(dir, entryName(text, checksum));
      const temp = `${path}.${process.pid}.tmp`;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        if (!usable()) return;
        writeFileSync(temp, encodeEntry(text, metadata), { mode: 0o600 });
        renameSync(temp, path);
        prune(dir);
      } catch {
        try {
          unlinkSync(temp);
        } catch {
          // nothing was written
        }
      }
    },
  };
}
