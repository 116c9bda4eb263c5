/**
 * Decoded forms of sanlock's on-disk records. Rule: every on-disk u64 is a `bigint`,
 * every u32/u16 a `number`. Names are strings of the bytes before the first NUL (UTF-8, see names.ts).
 */

/** leader_record (200 bytes), used by delta leases (magic 0x12212010) and paxos leases (0x06152010). */
export interface LeaderRecord {
  magic: number; // @0 u32
  version: number; // @4 u32
  flags: number; // @8 u32: LFL_ALIGN_* | LFL_SHORT_HOLD
  sectorSize: number; // @12 u32
  numHosts: bigint; // @16 u64: delta 0; paxos: dblocks that ballots look at
  maxHosts: bigint; // @24 u64: delta 1 (legacy); paxos: ballot-number modulus
  ownerId: bigint; // @32 u64
  ownerGeneration: bigint; // @40 u64
  lver: bigint; // @48 u64: delta 0; paxos: lease version
  spaceName: string; // @56 48 bytes
  resourceName: string; // @104 48 bytes: delta: owner's unique host name; paxos: resource name
  timestamp: bigint; // @152 u64: 0 = free
  unused1: bigint; // @160 u64
  checksum: number; // @168 u32: CRC of bytes 0..167 as stored (encode computes it)
  unused2: number; // @172 u16
  ioTimeoutSeconds: number; // @174 u16: delta: writer's io_timeout; paxos: 0
  writeId: bigint; // @176 u64: delta: event target generation; paxos: writer host_id
  writeGeneration: bigint; // @184 u64: delta: event value; paxos: writer generation
  writeTimestamp: bigint; // @192 u64: delta: event data; paxos: writer's monotonic seconds
}

/** paxos_dblock (56 bytes at the start of host_id N's sector, sector N+1 of the lease area). */
export interface Dblock {
  mbal: bigint; // @0
  bal: bigint; // @8
  inp: bigint; // @16 proposed owner host_id (0 = no value)
  inp2: bigint; // @24 proposed owner generation
  inp3: bigint; // @32 proposed owner timestamp
  lver: bigint; // @40
  checksum: number; // @48 CRC of bytes 0..47 as stored (encode computes it)
  flags: number; // @52 DBLOCK_FL_RELEASED; not covered by the checksum
}

/** mode_block (16 bytes at byte 128 of the same per-host sector). */
export interface ModeBlock {
  flags: number; // @128 u32: MBLOCK_SHARED
  generation: bigint; // @136 u64: generation of the shared holder
}

/** request_record (sector 1 of a paxos lease area; 24 bytes; no checksum). */
export interface RequestRecord {
  magic: number; // @0
  version: number; // @4
  lver: bigint; // @8 the lease version asked for
  forceMode: number; // @16 FORCE_MODE_*
}

/** rindex header (sector 0 of an rindex area; 80 bytes; no checksum). */
export interface RindexHeader {
  magic: number;
  version: number;
  flags: number; // RHF_ALIGN_*
  sectorSize: number;
  maxResources: number;
  unused: number;
  rxOffsetBytes: bigint; // the area's own absolute offset
  lockspaceName: string;
}

/** rindex entry (64 bytes). res_offset 0 and an empty name means free. */
export interface RindexEntry {
  resOffsetBytes: bigint;
  flags: number;
  unused: number;
  name: string;
}
