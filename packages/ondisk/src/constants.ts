/**
 * On-disk constants, sanlock 3.8 compatible. See docs/ondisk-format.md and
 * ../shared/spec/sanlock-ondisk.md. All integers on disk are little-endian.
 */

/** Length of every name field (lockspace, resource, host name). NUL padded, no terminator required. */
export const NAME_LENGTH_BYTES = 48;

export const DELTA_LEADER_MAGIC = 0x12212010;
export const PAXOS_LEADER_MAGIC = 0x06152010;
/** A paxos leader deliberately invalidated (sanlock "CLEAR"); reads fail quietly with LEADER_CLEARED. */
export const CLEAR_LEADER_MAGIC = 0x11282016;
export const DELTA_LEADER_VERSION = 0x00030004;
export const PAXOS_LEADER_VERSION = 0x00060004;
export const REQUEST_MAGIC = 0x08292011;
export const REQUEST_VERSION = 0x00010001;
export const RINDEX_MAGIC = 0x01042018;
export const RINDEX_VERSION = 0x00010002;
/** Readers compare only the major half of a version. */
export const VERSION_MAJOR_MASK = 0xffff0000;

/** Bytes of a leader record; the rest of its sector (to LEADER_RECORD_MAX_BYTES) is zero. */
export const LEADER_RECORD_BYTES = 200;
export const LEADER_RECORD_MAX_BYTES = 256;
/** The checksum covers bytes 0..167; the checksum is at 168; io_timeout and write_* are NOT covered. */
export const LEADER_CHECKSUM_COVERED_BYTES = 168;
/** Prefix used to match leaders across disks (everything before `timestamp`). */
export const LEADER_COMPARE_BYTES = 152;

/** The host-id bitmap of a delta-lease sector: 2048 bits at byte 256, host H = bit (H-1). */
export const HOST_BITMAP_OFFSET_BYTES = 256;
export const HOST_BITMAP_BYTES = 256;

/** paxos_dblock: 56 bytes at the start of each per-host sector; checksum covers 0..47, flags at 52 are not covered. */
export const DBLOCK_BYTES = 56;
export const DBLOCK_CHECKSUM_COVERED_BYTES = 48;
/** mode_block: 16 bytes at byte 128 of the same per-host sector. */
export const MODE_BLOCK_OFFSET_BYTES = 128;
export const MODE_BLOCK_BYTES = 16;
export const REQUEST_RECORD_BYTES = 24;
export const RINDEX_HEADER_BYTES = 80;
export const RINDEX_ENTRY_BYTES = 64;
/** Default number of rindex entries at format time. */
export const RINDEX_DEFAULT_MAX_RESOURCES = 4096;

/** Leader flags. */
export const LFL_SHORT_HOLD = 0x1;
export const LFL_ALIGN_1M = 0x10;
export const LFL_ALIGN_2M = 0x20;
export const LFL_ALIGN_4M = 0x40;
export const LFL_ALIGN_8M = 0x80;
export const LFL_ALIGN_MASK = LFL_ALIGN_1M | LFL_ALIGN_2M | LFL_ALIGN_4M | LFL_ALIGN_8M;
/** rindex header flags: note the values differ from the LFL ones. */
export const RHF_ALIGN_1M = 0x1;
export const RHF_ALIGN_2M = 0x2;
export const RHF_ALIGN_4M = 0x4;
export const RHF_ALIGN_8M = 0x8;

/** dblock flag: this host has let go of the lease (not covered by the dblock checksum). */
export const DBLOCK_FL_RELEASED = 0x1;
/** mode block flag: this host holds the lease shared. */
export const MBLOCK_SHARED = 0x1;

/** request_record force modes. */
export const FORCE_MODE_NONE = 0;
export const FORCE_MODE_KILL = 1;
export const FORCE_MODE_GRACEFUL = 2;

export const SECTOR_SIZES = [512, 4096] as const;
export type SectorSize = (typeof SECTOR_SIZES)[number];
export const MIB = 1024 * 1024;
export const ALIGN_SIZES_BYTES = [1 * MIB, 2 * MIB, 4 * MIB, 8 * MIB] as const;
export type AlignSizeBytes = (typeof ALIGN_SIZES_BYTES)[number];

/** Host ids run 1..MAX_HOST_ID at most (less for 4K sectors with small aligns). */
export const MAX_HOST_ID = 2000;
/** Default paxos leader num_hosts/max_hosts when none is given. */
export const DEFAULT_MAX_HOSTS = 2000;
/** The LVB sector of a paxos lease is fixed at this sector index whatever the align (a sanlock quirk). */
export const LVB_SECTOR_INDEX = 2002;
/** Default io_timeout written by `direct init -s` when `-o` is not given. */
export const DEFAULT_IO_TIMEOUT_SECONDS = 10;
