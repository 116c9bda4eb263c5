/**
 * A linear mapping: one Disk made of byte ranges of other Disks laid end to end, as device-mapper's
 * `linear` target maps an LV onto PV extents. leasehold reaches a shared VG's `lvmlock` LV this way,
 * through the PVs, without device-mapper.
 *
 * Logical offset 0 is the start of the first segment; each segment follows the previous one. An I/O
 * that crosses a segment boundary is split at sector boundaries, so a single-sector write stays one
 * write on one device (atomic). Offsets and lengths follow the Disk rules (EALIGN, ERANGE) against
 * the mapped size; segments are checked when the mapping is made. Closing the mapping does not close
 * the devices under it: whoever opened them closes them.
 */
import { checkIo, type Disk, DiskError } from './disk.js';
import { settle, type SyncDisk } from './sync-disk.js';

/** More segments than an lvmlock LV ever has (it grows by whole extents; lvm merges adjacent ones). */
export const MAX_LINEAR_SEGMENTS = 1024;

export interface LinearSegment<D> {
  /** The device this range lives on. */
  disk: D;
  /** Where the range starts on that device. */
  offsetBytes: number;
  lengthBytes: number;
}

/** One piece of a mapped I/O: `lengthBytes` at `offsetBytes` of segment `segment`, at `bufferOffset` of the caller's buffer. */
export interface LinearPiece {
  segment: number;
  offsetBytes: number;
  lengthBytes: number;
  bufferOffset: number;
}

type Geometry = Pick<Disk, 'path' | 'sectorSize' | 'sizeBytes'>;

/**
 * The sector size of the mapping (the largest of its devices': every I/O must suit each of them) and
 * its size. Throws EGEOMETRY for an empty or too long table, a segment outside its device or not on
 * sector boundaries, or devices whose sector sizes do not divide each other.
 */
function checkSegments(
  path: string,
  segments: readonly LinearSegment<Geometry>[],
): { sectorSize: number; sizeBytes: number; starts: number[] } {
  if (segments.length === 0) throw new DiskError('EGEOMETRY', 'a linear mapping needs at least one segment', path);
  if (segments.length > MAX_LINEAR_SEGMENTS) {
    throw new DiskError(
      'EGEOMETRY',
      `a linear mapping of ${segments.length} segments is more than the ${MAX_LINEAR_SEGMENTS} allowed`,
      path,
    );
  }
  const sectorSize = Math.max(...segments.map((segment) => segment.disk.sectorSize));
  const starts: number[] = [];
  let sizeBytes = 0;
  segments.forEach((segment, index) => {
    const where = `segment ${index} (${segment.disk.path} at ${segment.offsetBytes}, ${segment.lengthBytes} bytes)`;
    if (sectorSize % segment.disk.sectorSize !== 0) {
      throw new DiskError(
        'EGEOMETRY',
        `${where}: ${segment.disk.sectorSize}-byte sectors do not divide the mapping's ${sectorSize}`,
        path,
      );
    }
    const { offsetBytes, lengthBytes } = segment;
    if (
      !Number.isSafeInteger(offsetBytes) ||
      !Number.isSafeInteger(lengthBytes) ||
      offsetBytes < 0 ||
      lengthBytes <= 0
    ) {
      throw new DiskError('EGEOMETRY', `${where}: offset and length must be integers, the length positive`, path);
    }
    if (offsetBytes % sectorSize !== 0 || lengthBytes % sectorSize !== 0) {
      throw new DiskError('EGEOMETRY', `${where} is not on ${sectorSize}-byte sector boundaries`, path);
    }
    if (offsetBytes + lengthBytes > segment.disk.sizeBytes) {
      throw new DiskError(
        'EGEOMETRY',
        `${where} goes past the end of its device (${segment.disk.sizeBytes} bytes)`,
        path,
      );
    }
    starts.push(sizeBytes);
    sizeBytes += lengthBytes;
  });
  return { sectorSize, sizeBytes, starts };
}

interface Placed<D> extends LinearSegment<D> {
  /** Where the segment starts in the mapping. */
  startBytes: number;
}

/** Splits a checked logical range into per-segment pieces, in order. */
function piecesOf<D>(
  placed: readonly Placed<D>[],
  offsetBytes: number,
  lengthBytes: number,
): Array<LinearPiece & { disk: D }> {
  const pieces: Array<LinearPiece & { disk: D }> = [];
  const end = offsetBytes + lengthBytes;
  // Segments are few: a linear scan is clearer than a binary search and costs nothing here.
  placed.forEach((segment, index) => {
    const from = Math.max(offsetBytes, segment.startBytes);
    const to = Math.min(end, segment.startBytes + segment.lengthBytes);
    if (from >= to) return;
    pieces.push({
      segment: index,
      disk: segment.disk,
      offsetBytes: segment.offsetBytes + (from - segment.startBytes),
      lengthBytes: to - from,
      bufferOffset: from - offsetBytes,
    });
  });
  return pieces;
}

abstract class LinearBase<D extends Geometry> {
  readonly sectorSize: number;
  readonly sizeBytes: number;
  private readonly placed: readonly Placed<D>[];
  private closed = false;

  constructor(
    readonly path: string,
    segments: readonly LinearSegment<D>[],
  ) {
    const checked = checkSegments(path, segments);
    this.placed = segments.map((segment, index) => ({ ...segment, startBytes: checked.starts[index] ?? 0 }));
    this.sectorSize = checked.sectorSize;
    this.sizeBytes = checked.sizeBytes;
  }

  /** Where a logical range lands, piece by piece (exposed for messages and tests). */
  map(offsetBytes: number, lengthBytes: number): LinearPiece[] {
    return this.pieces(offsetBytes, lengthBytes).map(({ disk: _disk, ...piece }) => piece);
  }

  protected pieces(offsetBytes: number, lengthBytes: number): Array<LinearPiece & { disk: D }> {
    if (this.closed) throw new DiskError('ECLOSED', 'disk is closed', this.path, offsetBytes, lengthBytes);
    checkIo(this, offsetBytes, lengthBytes);
    return piecesOf(this.placed, offsetBytes, lengthBytes);
  }

  protected markClosed(): void {
    this.closed = true;
  }
}

/** A linear mapping over async Disks. */
export class LinearDisk extends LinearBase<Disk> implements Disk {
  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    const pieces = this.pieces(offsetBytes, lengthBytes);
    const out = new Uint8Array(lengthBytes);
    for (const piece of pieces)
      out.set(await piece.disk.read(piece.offsetBytes, piece.lengthBytes), piece.bufferOffset);
    return out;
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    const pieces = this.pieces(offsetBytes, data.byteLength);
    // In order, one after another: a multi-sector write may tear anyway (Disk contract), but each
    // piece lands whole on its own device.
    for (const piece of pieces) {
      await piece.disk.write(
        piece.offsetBytes,
        data.subarray(piece.bufferOffset, piece.bufferOffset + piece.lengthBytes),
      );
    }
  }

  close(): Promise<void> {
    this.markClosed();
    return Promise.resolve();
  }
}

/** The same over SyncDisks, for the daemon's worker threads. */
export class LinearSyncDisk extends LinearBase<SyncDisk> implements SyncDisk {
  readSync(offsetBytes: number, lengthBytes: number): Uint8Array {
    const pieces = this.pieces(offsetBytes, lengthBytes);
    const out = new Uint8Array(lengthBytes);
    for (const piece of pieces) out.set(piece.disk.readSync(piece.offsetBytes, piece.lengthBytes), piece.bufferOffset);
    return out;
  }

  writeSync(offsetBytes: number, data: Uint8Array): void {
    const pieces = this.pieces(offsetBytes, data.byteLength);
    for (const piece of pieces) {
      piece.disk.writeSync(
        piece.offsetBytes,
        data.subarray(piece.bufferOffset, piece.bufferOffset + piece.lengthBytes),
      );
    }
  }

  closeSync(): void {
    this.markClosed();
  }

  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    return settle(() => this.readSync(offsetBytes, lengthBytes));
  }

  write(offsetBytes: number, data: Uint8Array): Promise<void> {
    return settle(() => this.writeSync(offsetBytes, data));
  }

  close(): Promise<void> {
    return settle(() => this.closeSync());
  }
}
