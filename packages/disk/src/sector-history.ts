/** How many versions of each sector a history keeps by default (current one included). */
export const DEFAULT_HISTORY_DEPTH = 8;

/**
 * Past contents of sectors, for stale-read fault injection. Share one instance between the
 * FaultyDisks of several simulated hosts over the same disk, so that each host's stale reads can
 * return what any host wrote before.
 */
export class SectorHistory {
  private readonly versions = new Map<number, Uint8Array[]>();

  constructor(
    readonly sectorSize: number,
    /** Versions kept per sector, the current one included (at least 2 for stale reads to differ). */
    readonly depth: number = DEFAULT_HISTORY_DEPTH,
  ) {
    if (!Number.isSafeInteger(depth) || depth < 1)
      throw new RangeError(`history depth ${depth} must be a positive integer`);
  }

  has(sectorOffsetBytes: number): boolean {
    return this.versions.has(sectorOffsetBytes);
  }

  /** Records `contents` (one sector, copied) as the newest version of the sector at `sectorOffsetBytes`. */
  record(sectorOffsetBytes: number, contents: Uint8Array): void {
    if (contents.byteLength !== this.sectorSize) {
      throw new RangeError(`history records whole ${this.sectorSize}-byte sectors, got ${contents.byteLength} bytes`);
    }
    let list = this.versions.get(sectorOffsetBytes);
    if (list === undefined) {
      list = [];
      this.versions.set(sectorOffsetBytes, list);
    }
    list.push(contents.slice());
    if (list.length > this.depth) list.shift();
  }

  /** Known versions of a sector, oldest first (copies). */
  versionsOf(sectorOffsetBytes: number): Uint8Array[] {
    return (this.versions.get(sectorOffsetBytes) ?? []).map((version) => version.slice());
  }

  /**
   * The version `versionsBack` before the newest (1 = the one before the last write), or the oldest
   * known if the history is shorter; undefined if the sector has no history.
   */
  staleVersion(sectorOffsetBytes: number, versionsBack: number): Uint8Array | undefined {
    const list = this.versions.get(sectorOffsetBytes);
    if (list === undefined || list.length === 0) return undefined;
    return list[Math.max(0, list.length - 1 - versionsBack)]?.slice();
  }

  clear(): void {
    this.versions.clear();
  }
}
