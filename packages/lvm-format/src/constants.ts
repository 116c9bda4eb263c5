/** Sizes and magic values of the LVM2 on-disk format (spec/lvm2-ondisk.md sections 1, 2, 4). */
export const SECTOR_SIZE_BYTES = 512;
/** lvm looks for a label in sectors 0..3 only. */
export const LABEL_SCAN_SECTORS = 4;
/** The sector pvcreate writes the label to. */
export const DEFAULT_LABEL_SECTOR = 1;
export const LABEL_ID = 'LABELONE';
export const LABEL_TYPE = 'LVM2 001';
export const LABEL_HEADER_SIZE_BYTES = 32;
/** Byte offset of the pv_header in the label sector, as lvm writes it. */
export const PV_HEADER_OFFSET_BYTES = 32;
export const ID_LEN = 32;
/** The pv_header_extension version lvm 2.03 writes. */
export const PV_HEADER_EXTENSION_VERSION = 2;
/** pv_header_extension flag: the PV belongs to a VG. */
export const PV_EXT_USED = 0x1;
/** lvm supports at most this many mdas per PV. */
export const MAX_MDAS_PER_PV = 2;
/** A bound on data/bootloader area list entries read from a label (the sector holds at most ~29). */
export const MAX_DISK_LOCN_ENTRIES = 29;

export const MDA_HEADER_SIZE_BYTES = 512;
/** ` LVM2 x[5A%r0N*>` */
export const MDA_MAGIC = new Uint8Array([
  0x20, 0x4c, 0x56, 0x4d, 0x32, 0x20, 0x78, 0x5b, 0x35, 0x41, 0x25, 0x72, 0x30, 0x4e, 0x2a, 0x3e,
]);
export const MDA_VERSION = 1;
/** raw_locn flag: the mda is ignored (neither read nor written). */
export const RAW_LOCN_IGNORED = 0x1;
/** Text copies in the circular buffer start on this boundary. */
export const MDA_ALIGN_BYTES = 512;
/** Bytes of each new mda that pvcreate zeroes. */
export const MDA_ZERO_BYTES = 4096;
/** pvcreate zeroes bytes [0, 2048) of the device. */
export const PVCREATE_ZERO_BYTES = 2048;

/** Defaults of lvm 2.03 (4 KiB pages). */
export const DEFAULT_MDA1_START_BYTES = 4096;
export const DEFAULT_MDA_SIZE_SECTORS = 2040;
export const DEFAULT_DATA_ALIGNMENT_BYTES = 1024 * 1024;
export const DEFAULT_EXTENT_SIZE_SECTORS = 8192;
export const MIN_MDA_SIZE_BYTES = 32 * 1024;
export const MIN_PV_SIZE_BYTES = 2 * 1024 * 1024;

/** VG and LV names: at most this many characters (NAME_LEN 128 including the NUL). */
export const MAX_NAME_LENGTH = 127;
