import { DiskError } from '@leasehold/disk';
import { IoFaults, type IoFaultSettings } from './io-faults.js';

/** A write (or the piece of a torn write) as it landed on the shared bytes. */
export interface LandedWrite {
  /** Id of the I/O operation; the pieces of one torn write share it. */
  opId: number;
  /** Incarnation label of the writer, e.g. "h1#2". */
  writer: string;
  offsetBytes: number;
  /** The bytes that landed (a copy the listener may keep). */
  data: Uint8Array;
  issuedAtSeconds: number;
  landedAtSeconds: number;
  /** False when only part of the write landed (torn, or cut short by a crash or an error). */
  whole: boolean;
  /** Order of this landing among all landings and read samples of this disk (ties in time included). */
  effectSequence: number;
}

export type WriteListener = (write: LandedWrite) => void;

/** A read whose data reached its host (failed reads and reads of crashed hosts are not reported). */
export interface DeliveredRead {
  opId: number;
  /** Incarnation label of the reader. */
  reader: string;
  offsetBytes: number;
  lengthBytes: number;
  issuedAtSeconds: number;
  /** When the data was taken from the shared bytes. */
  sampledAtSeconds: number;
  /** Order of the sample among all landings and read samples of this disk (see LandedWrite). */
  effectSequence: number;
  /** When the reader's code got it (later than completion if the reader was paused). */
  deliveredAtSeconds: number;
}

export type ReadListener = (read: DeliveredRead) => void;

export interface SharedDiskOptions {
  name: string;
  sectorSize: number;
  sizeBytes: number;
  /** Initial contents (copied); zeros when absent. */
  initialBytes?: Uint8Array;
  /** Faults of the storage itself, seen by every host (each host's path has its own too). */
  ioFaults?: Partial<IoFaultSettings>;
}

/** Older contents kept per sector, so a stale read can return them. */
const MAX_KEPT_VERSIONS_PER_SECTOR = 4;

interface ReplacedVersion {
  landedAtSeconds: number;
  previous: Uint8Array;
}

/**
 * The one array of bytes every host's SimDisk reads and writes. Writes apply whole sectors, so a
 * single-sector write is atomic by construction; the SimDisk decides when (and whether) each
 * piece lands.
 */
export class SharedDisk {
  readonly name: string;
  readonly sectorSize: number;
  readonly sizeBytes: number;
  readonly ioFaults: IoFaults;
  private readonly bytes: Uint8Array;
  private readonly replaced = new Map<number, ReplacedVersion[]>();
  private readonly listeners: WriteListener[] = [];
  private readonly readListeners: ReadListener[] = [];
  private keepVersions = false;
  private effects = 0;

  constructor(options: SharedDiskOptions) {
    this.name = options.name;
    this.sectorSize = options.sectorSize;
    this.sizeBytes = options.sizeBytes;
    if (options.sizeBytes <= 0 || options.sizeBytes % options.sectorSize !== 0) {
      throw new DiskError(
        'EGEOMETRY',
        `size ${options.sizeBytes} is not a positive multiple of ${options.sectorSize}`,
        this.name,
      );
    }
    this.bytes = new Uint8Array(options.sizeBytes);
    if (options.initialBytes !== undefined) this.bytes.set(options.initialBytes);
    this.ioFaults = new IoFaults(options.ioFaults);
  }

  /** Called for every landed write, in landing order: oracles build their view of the disk from it. */
  onWrite(listener: WriteListener): void {
    this.listeners.push(listener);
  }

  /** Called for every read handed to its host, in delivery order. */
  onRead(listener: ReadListener): void {
    this.readListeners.push(listener);
  }

  /** Used by SimDisk when a read's data reaches its host. */
  reportRead(read: DeliveredRead): void {
    for (const listener of this.readListeners) listener(read);
  }

  /** Keep replaced sector contents from now on, for stale reads. */
  enableStaleReads(): void {
    this.keepVersions = true;
  }

  /** Current contents of a range (any alignment, no I/O model): for oracles and assertions. */
  peek(offsetBytes: number, lengthBytes: number): Uint8Array {
    return this.bytes.slice(offsetBytes, offsetBytes + lengthBytes);
  }

  /** Sets bytes directly with no I/O model and no listeners: fixtures and planted corruption. */
  poke(offsetBytes: number, data: Uint8Array): void {
    this.bytes.set(data, offsetBytes);
  }

  /** The contents as of `asOfSeconds` as far as kept versions allow (older versions may be gone). */
  readAsOf(offsetBytes: number, lengthBytes: number, asOfSeconds: number): Uint8Array {
    const result = this.peek(offsetBytes, lengthBytes);
    const firstSector = offsetBytes / this.sectorSize;
    const lastSector = firstSector + lengthBytes / this.sectorSize;
    for (const [sector, versions] of this.replaced) {
      if (sector < firstSector || sector >= lastSector) continue;
      let contents: Uint8Array | undefined;
      // Walk back from the newest change while it landed after the moment we read "as of".
      for (let index = versions.length - 1; index >= 0; index--) {
        const version = versions[index] as ReplacedVersion;
        if (version.landedAtSeconds <= asOfSeconds) break;
        contents = version.previous;
      }
      if (contents !== undefined) result.set(contents, (sector - firstSector) * this.sectorSize);
    }
    return result;
  }

  /** Numbers a read sample, in the same sequence as landings. */
  nextEffectSequence(): number {
    return this.effects++;
  }

  /** Lands `data` (whole sectors) at `offsetBytes` now. */
  land(piece: Omit<LandedWrite, 'effectSequence'>): void {
    const write: LandedWrite = { ...piece, effectSequence: this.nextEffectSequence() };
    if (this.keepVersions) this.keepReplaced(write);
    this.bytes.set(write.data, write.offsetBytes);
    for (const listener of this.listeners) listener(write);
  }

  private keepReplaced(write: LandedWrite): void {
    const firstSector = write.offsetBytes / this.sectorSize;
    for (let index = 0; index < write.data.byteLength / this.sectorSize; index++) {
      const sector = firstSector + index;
      let versions = this.replaced.get(sector);
      if (versions === undefined) {
        versions = [];
        this.replaced.set(sector, versions);
      }
      versions.push({
        landedAtSeconds: write.landedAtSeconds,
        previous: this.peek(sector * this.sectorSize, this.sectorSize),
      });
      if (versions.length > MAX_KEPT_VERSIONS_PER_SECTOR) versions.shift();
    }
  }
}
