/**
 * Extent allocation with lvm's `normal` policy for linear and striped LVs, written to reproduce
 * lvm 2.03's choices (lib/metadata/lv_manip.c and pv_map.c were read for the rules; placements were
 * checked against the real lvm). In short:
 *
 * - Free space is a per-PV list of free PE ranges ("areas") kept largest first; equal sizes keep
 *   their order of insertion. PVs are taken in the order given (command line) or VG order.
 * - lvm tries the policies contiguous, cling, normal in turn:
 *   contiguous: (extension) only the free range right after the LV's last segment on the same PV;
 *   cling: PVs the LV already uses (its whole length: maximise_cling), or PVs already used by this
 *   allocation;
 *   normal: first prefer PVs already used by this allocation, then any PV.
 * - Without a positional preference each PV offers one area: its largest, replaced by a later,
 *   smaller one that still holds everything that is needed. The offers are sorted by how much each
 *   would give (stable, largest first) and the first `stripes` are used, all for the same length.
 * - New segments that continue the previous one on the same PVs are merged, as lvm does.
 */
import { formatUuid, mergeSegments, type Segment, STRIPED_SEGMENT_TYPE, type VolumeGroup } from '@leasehold/lvm-format';
import { VolumeError } from './errors.js';

interface Area {
  pvKey: string;
  start: number;
  count: number;
  unreserved: number;
}

interface PvMap {
  pvKey: string;
  areas: Area[];
}

interface Offer {
  area: Area;
  used: number;
}

interface AllocatedPiece {
  pvKey: string;
  pe: number;
  len: number;
}

enum Policy {
  Contiguous,
  Cling,
  Normal,
}

const F_CAN_SPLIT = 1;
const F_AREA_COUNT_MATCHES = 2;
const F_CONTIGUOUS_TO_LVSEG = 4;
const F_CLING_TO_LVSEG = 8;
const F_CLING_TO_ALLOCED = 16;
const F_POSITIONAL_FILL = 32;

/** lvm's allocation/maximise_cling default. */
const MAXIMISE_CLING = true;
/** A bound on allocation rounds (each round allocates at least one extent or stops). */
const MAX_ROUNDS = 1_000_000;

export interface AllocationRequest {
  vg: VolumeGroup;
  /** The LV being created or extended (for messages and its existing segments). */
  lvName: string;
  /** Segments the LV has now (empty for a new LV). */
  existing: Segment[];
  /** Logical extents to add. */
  extents: number;
  /** Stripes of the new space (default 1: linear). Extending keeps the LV's stripe count. */
  stripes?: number;
  /** Stripe size in sectors when stripes > 1. */
  stripeSizeSectors?: number;
  /** PV keys (pv0, ...) allowed, in the order given on the command line; default every PV in VG order. */
  pvKeys?: string[];
}

/** Free PE ranges of each PV in VG order: [start, count] pairs in PE order. */
export function freeRanges(vg: VolumeGroup): Map<string, Array<[number, number]>> {
  const used = new Map<string, Array<[number, number]>>();
  for (const pv of vg.pvs) used.set(pv.key, []);
  for (const lv of vg.lvs) {
    for (const seg of lv.segments) {
      if (seg.type !== STRIPED_SEGMENT_TYPE) continue;
      const per = seg.extentCount / seg.stripes.length;
      for (const area of seg.stripes) used.get(area.pvKey)?.push([area.startPe, per]);
    }
  }
  const out = new Map<string, Array<[number, number]>>();
  for (const pv of vg.pvs) {
    const list = (used.get(pv.key) ?? []).sort((a, b) => a[0] - b[0]);
    const free: Array<[number, number]> = [];
    let pe = 0;
    for (const [start, count] of list) {
      if (start > pe) free.push([pe, start - pe]);
      pe = Math.max(pe, start + count);
    }
    if (pe < pv.peCount) free.push([pe, pv.peCount - pe]);
    out.set(pv.key, free);
  }
  return out;
}

/** Free extents of the VG (allocatable or not). */
export function vgFreeExtents(vg: VolumeGroup): number {
  let total = 0;
  for (const ranges of freeRanges(vg).values()) for (const [, count] of ranges) total += count;
  return total;
}

function insertArea(map: PvMap, area: Area, reduced: boolean): void {
  const key = reduced ? area.unreserved : area.count;
  let i = 0;
  while (i < map.areas.length && !(key > (map.areas[i] as Area).count)) i++;
  map.areas.splice(i, 0, area);
}

function removeArea(map: PvMap, area: Area): void {
  const i = map.areas.indexOf(area);
  if (i >= 0) map.areas.splice(i, 1);
}

function reinsertChanged(map: PvMap, area: Area): void {
  removeArea(map, area);
  insertArea(map, area, true);
}

function consumeArea(map: PvMap, area: Area, len: number): void {
  removeArea(map, area);
  if (len < area.count) {
    area.start += len;
    area.count -= len;
    area.unreserved = area.count;
    insertArea(map, area, false);
  }
}

function mapsSize(pvms: PvMap[]): number {
  let n = 0;
  for (const m of pvms) for (const a of m.areas) n += a.count;
  return n;
}

class Allocator {
  private readonly pvms: PvMap[];
  private readonly mapOf = new Map<string, PvMap>();
  /** Pieces allocated so far, per parallel slot. */
  readonly allocated: AllocatedPiece[][];
  private allocatedExtents = 0;
  private readonly prevSeg: Segment | undefined;

  constructor(
    private readonly req: AllocationRequest,
    private readonly areaCount: number,
  ) {
    this.allocated = Array.from({ length: areaCount }, () => []);
    const free = freeRanges(req.vg);
    const byKey = new Map(req.vg.pvs.map((pv) => [pv.key, pv]));
    const order = req.pvKeys ?? req.vg.pvs.map((pv) => pv.key);
    this.pvms = [];
    for (const key of order) {
      const pv = byKey.get(key);
      if (pv === undefined || !pv.status.includes('ALLOCATABLE') || pv.flags.includes('MISSING') || this.mapOf.has(key))
        continue;
      const map: PvMap = { pvKey: key, areas: [] };
      for (const [start, count] of free.get(key) ?? [])
        insertArea(map, { pvKey: key, start, count, unreserved: count }, false);
      this.pvms.push(map);
      this.mapOf.set(key, map);
    }
    this.prevSeg = req.existing.length > 0 ? req.existing[req.existing.length - 1] : undefined;
  }

  private get needed(): number {
    return this.req.extents;
  }

  run(): void {
    for (const policy of [Policy.Contiguous, Policy.Cling, Policy.Normal]) {
      const free = mapsSize(this.pvms);
      const stillNeeded = this.needed - this.allocatedExtents;
      if (stillNeeded > free) {
        throw new VolumeError(
          'INSUFFICIENT_FREE_EXTENTS',
          `Insufficient free space: ${stillNeeded} extents needed, but only ${free} available`,
        );
      }
      this.onePolicy(policy, this.initFlags(policy));
      if (this.allocatedExtents === this.needed) return;
    }
    throw new VolumeError(
      'INSUFFICIENT_FREE_EXTENTS',
      `Insufficient suitable allocatable extents for logical volume ${this.req.lvName}: ${this.needed - this.allocatedExtents} more required`,
    );
  }

  private initFlags(policy: Policy): number {
    let flags = F_CAN_SPLIT;
    const prev = this.prevSeg;
    if (prev !== undefined && prev.stripes.length === this.areaCount && prev.type === STRIPED_SEGMENT_TYPE) {
      flags |= F_AREA_COUNT_MATCHES;
      if (policy === Policy.Contiguous) flags |= F_CONTIGUOUS_TO_LVSEG | F_POSITIONAL_FILL;
      else if (policy === Policy.Cling) flags |= F_CLING_TO_LVSEG | F_POSITIONAL_FILL;
    } else if (policy === Policy.Cling) {
      flags |= F_CLING_TO_ALLOCED | F_POSITIONAL_FILL;
    }
    if (MAXIMISE_CLING && policy === Policy.Normal && this.allocatedExtents !== this.needed)
      flags |= F_CLING_TO_ALLOCED;
    return flags;
  }

  private onePolicy(policy: Policy, initialFlags: number): void {
    let flags = initialFlags;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const before = this.allocatedExtents;
      this.findSome(flags);
      if (before === this.allocatedExtents) {
        if (
          MAXIMISE_CLING &&
          policy === Policy.Cling &&
          (flags & F_CLING_TO_LVSEG) !== 0 &&
          (flags & F_POSITIONAL_FILL) !== 0
        )
          flags &= ~F_POSITIONAL_FILL;
        else if (policy === Policy.Normal && (flags & F_CLING_TO_ALLOCED) !== 0) flags &= ~F_CLING_TO_ALLOCED;
        else return;
      } else if (MAXIMISE_CLING && policy === Policy.Normal && (flags & F_CLING_TO_ALLOCED) === 0) {
        flags |= F_CLING_TO_ALLOCED;
      }
      if (policy === Policy.Contiguous || this.allocatedExtents === this.needed) return;
    }
  }

  /** The PV ranges of the LV's last segment, per parallel slot. */
  private contiguousTo(area: Area, slot: number): boolean {
    const prev = this.prevSeg;
    if (prev === undefined) return false;
    const per = prev.extentCount / prev.stripes.length;
    const a = prev.stripes[slot];
    return a !== undefined && a.pvKey === area.pvKey && a.startPe + per === area.start;
  }

  /** Slot of the previous segment (or of the LV) on the same PV as `area`, or -1. */
  private clingSlot(area: Area): number {
    // maximise_cling: every segment of the LV counts; slots follow the areas' positions in their segments.
    for (const seg of this.req.existing) {
      for (let s = 0; s < seg.stripes.length; s++)
        if ((seg.stripes[s] as { pvKey: string }).pvKey === area.pvKey) return s;
    }
    return -1;
  }

  private clingToAllocedSlot(area: Area, positional: boolean, slots: Array<Offer | undefined>): number {
    for (let s = 0; s < this.areaCount; s++) {
      if (positional && slots[s] !== undefined) continue;
      const first = (this.allocated[s] as AllocatedPiece[])[0];
      if (first === undefined) continue;
      if ((this.allocated[s] as AllocatedPiece[]).some((p) => p.pvKey === area.pvKey)) return s;
    }
    return -1;
  }

  private findSome(flags: number): void {
    const positional = (flags & F_POSITIONAL_FILL) !== 0;
    const maxToAllocate = this.needed - this.allocatedExtents;
    const devicesNeeded = this.areaCount;
    let numPositional = 0;
    if (positional)
      numPositional =
        (flags & (F_CONTIGUOUS_TO_LVSEG | F_CLING_TO_LVSEG)) !== 0
          ? (this.prevSeg?.stripes.length ?? 0)
          : this.areaCount;
    // reset reservations (reinserting areas whose reservation changed, as lvm does)
    for (const map of this.pvms) {
      for (const area of [...map.areas]) {
        if (area.unreserved !== area.count) {
          area.unreserved = area.count;
          reinsertChanged(map, area);
        }
      }
    }
    const slots: Array<Offer | undefined> = new Array(numPositional).fill(undefined);
    const offers: Offer[] = [];
    let preferred = 0;
    const usesCheckBranch = (flags & (F_CONTIGUOUS_TO_LVSEG | F_CLING_TO_LVSEG | F_CLING_TO_ALLOCED)) !== 0;
    for (const map of this.pvms) {
      if (map.areas.length === 0) continue;
      let foundOne = false;
      let i = 0;
      while (i < map.areas.length) {
        const area = map.areas[i] as Area;
        if (area.unreserved === 0) {
          i = map.areas.indexOf(area) + 1;
          continue;
        }
        let verdict: 'preferred' | 'use' | 'nextArea' | 'nextPv';
        let slot = -1;
        if (usesCheckBranch) {
          verdict = 'nextPv';
          const acm = (flags & F_AREA_COUNT_MATCHES) !== 0;
          if ((flags & F_CONTIGUOUS_TO_LVSEG) !== 0 || (MAXIMISE_CLING && acm)) {
            for (let s = 0; s < (this.prevSeg?.stripes.length ?? 0); s++) {
              if (positional && slots[s] !== undefined) continue;
              if (this.contiguousTo(area, s)) {
                slot = s;
                break;
              }
            }
          }
          if (slot >= 0) verdict = 'use';
          else if ((flags & F_CONTIGUOUS_TO_LVSEG) !== 0) verdict = 'nextArea';
          else {
            if ((flags & F_CLING_TO_LVSEG) !== 0 || (MAXIMISE_CLING && acm)) {
              const s = this.clingSlot(area);
              if (s >= 0 && !(positional && (slots[s] !== undefined || s >= numPositional))) slot = s;
            }
            if (slot < 0 && (flags & F_CLING_TO_ALLOCED) !== 0) slot = this.clingToAllocedSlot(area, positional, slots);
            verdict = slot >= 0 ? 'use' : 'nextPv';
          }
          if (verdict === 'use' && positional) verdict = 'preferred';
        } else {
          const bigEnough = area.unreserved * this.areaCount >= maxToAllocate;
          verdict = !bigEnough && foundOne ? 'nextPv' : positional ? 'preferred' : 'use';
        }
        if (verdict === 'nextArea') {
          i = map.areas.indexOf(area) + 1;
          continue;
        }
        if (verdict === 'nextPv') break;
        if (verdict === 'preferred') {
          // positional: the whole area is offered at its slot
          if (slot >= 0 && slot < numPositional) slots[slot] = { area, used: area.count };
          preferred++;
          break;
        }
        // use: one offer per PV, replaced by later (smaller) areas that qualify
        const required = this.reserve(map, area, Math.floor(maxToAllocate / this.areaCount));
        if (!foundOne) {
          offers.push({ area, used: required });
          foundOne = true;
        } else {
          offers[offers.length - 1] = { area, used: required };
        }
        i = map.areas.indexOf(area) + 1;
      }
      if (preferred === numPositional && numPositional === devicesNeeded) break;
    }
    if (preferred < numPositional && (flags & F_CLING_TO_ALLOCED) === 0 && offers.length === 0) return;
    if (offers.length + preferred < devicesNeeded) return;
    // stable sort, largest contribution first (glibc's qsort is a merge sort here)
    const sorted = offers
      .map((o, i) => ({ o, i }))
      .sort((a, b) => b.o.used - a.o.used || a.i - b.i)
      .map((x) => x.o);
    const chosen: Offer[] = [];
    let next = 0;
    for (let s = 0; s < devicesNeeded; s++) {
      const fixed = s < numPositional ? slots[s] : undefined;
      if (fixed !== undefined) chosen.push(fixed);
      else {
        const o = sorted[next++];
        if (o === undefined) return;
        chosen.push(o);
      }
    }
    let areaLen = Math.floor(maxToAllocate / this.areaCount);
    for (const c of chosen) areaLen = Math.min(areaLen, c.used);
    if (areaLen <= 0) return;
    chosen.forEach((c, s) => {
      (this.allocated[s] as AllocatedPiece[]).push({ pvKey: c.area.pvKey, pe: c.area.start, len: areaLen });
      consumeArea(this.mapOf.get(c.area.pvKey) as PvMap, c.area, areaLen);
    });
    this.allocatedExtents += areaLen * this.areaCount;
  }

  private reserve(map: PvMap, area: Area, wanted: number): number {
    if (wanted >= area.unreserved) {
      const got = area.unreserved;
      area.unreserved = 0;
      return got;
    }
    area.unreserved -= wanted;
    reinsertChanged(map, area);
    return wanted;
  }
}

/**
 * Allocates `extents` more logical extents for an LV and returns its new segment list (the
 * existing segments, the new ones, merged where they continue each other). Pure: `vg` is not changed.
 * Throws INSUFFICIENT_FREE_EXTENTS with lvm's wording.
 */
export function allocateExtents(req: AllocationRequest): Segment[] {
  if (!Number.isInteger(req.extents) || req.extents <= 0)
    throw new VolumeError('BAD_ARGUMENT', `Invalid number of extents ${req.extents} to allocate.`);
  const last = req.existing[req.existing.length - 1];
  const stripes = req.stripes ?? last?.stripes.length ?? 1;
  if (!Number.isInteger(stripes) || stripes < 1)
    throw new VolumeError('BAD_ARGUMENT', `Invalid number of stripes ${stripes}.`);
  if (req.extents % stripes !== 0) {
    throw new VolumeError(
      'BAD_ARGUMENT',
      `Number of extents requested (${req.extents}) needs to be divisible by ${stripes}.`,
    );
  }
  for (const key of req.pvKeys ?? []) {
    if (!req.vg.pvs.some((pv) => pv.key === key))
      throw new VolumeError('PV_NOT_FOUND', `Physical volume ${key} not found in Volume Group ${req.vg.name}.`);
  }
  const allocator = new Allocator(req, stripes);
  allocator.run();
  const stripeSize = stripes > 1 ? (req.stripeSizeSectors ?? last?.stripeSizeSectors) : undefined;
  const segments = req.existing.map((s) => ({ ...s, stripes: s.stripes.map((a) => ({ ...a })) }));
  let le = segments.reduce((n, s) => n + s.extentCount, 0);
  const first = allocator.allocated[0] as AllocatedPiece[];
  for (let i = 0; i < first.length; i++) {
    const len = (first[i] as AllocatedPiece).len;
    const seg: Segment = {
      startExtent: le,
      extentCount: len * stripes,
      type: STRIPED_SEGMENT_TYPE,
      tags: [],
      stripes: allocator.allocated.map((pieces) => {
        const p = pieces[i] as AllocatedPiece;
        return { pvKey: p.pvKey, startPe: p.pe };
      }),
    };
    if (stripeSize !== undefined) seg.stripeSizeSectors = stripeSize;
    segments.push(seg);
    le += seg.extentCount;
  }
  return mergeSegments(segments);
}

/** Removes `extents` logical extents from the end of an LV (lvreduce); returns the new segment list. */
export function reduceExtents(segments: Segment[], extents: number, lvName: string): Segment[] {
  const total = segments.reduce((n, s) => n + s.extentCount, 0);
  if (!Number.isInteger(extents) || extents <= 0 || extents >= total) {
    throw new VolumeError(
      'BAD_ARGUMENT',
      `Cannot reduce logical volume ${lvName} by ${extents} extents (it has ${total}).`,
    );
  }
  const keep = total - extents;
  const out: Segment[] = [];
  for (const seg of segments) {
    if (seg.startExtent >= keep) break;
    if (seg.startExtent + seg.extentCount <= keep) {
      out.push({ ...seg, stripes: seg.stripes.map((a) => ({ ...a })) });
      continue;
    }
    const newCount = keep - seg.startExtent;
    if (newCount % seg.stripes.length !== 0) {
      throw new VolumeError(
        'BAD_ARGUMENT',
        `Cannot reduce striped logical volume ${lvName} to a size not divisible by ${seg.stripes.length} stripes.`,
      );
    }
    out.push({ ...seg, extentCount: newCount, stripes: seg.stripes.map((a) => ({ ...a })) });
  }
  return out;
}

/** For messages: "PV <uuid>" of a key. */
export function pvLabelOf(vg: VolumeGroup, key: string): string {
  const pv = vg.pvs.find((p) => p.key === key);
  return pv === undefined ? key : formatUuid(pv.id);
}
