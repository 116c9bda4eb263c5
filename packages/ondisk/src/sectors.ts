import type { Dblock, LeaderRecord, ModeBlock, RequestRecord } from './records.js';

/** A decoded delta-lease sector. */
export interface DeltaSector {
  leader: LeaderRecord;
  /** 256 bytes (a copy). */
  bitmap: Uint8Array;
}

/** A full delta-lease sector (leader, zero, bitmap at 256 if given, zero padding). */
export function encodeDeltaSector(leader: LeaderRecord, bitmap: Uint8Array | null, sectorSize: number): Uint8Array {
  throw new Error('stub');
}
export function decodeDeltaSector(source: Uint8Array, offset = 0): DeltaSector {
  throw new Error('stub');
}
/** A full paxos leader sector (leader then zeros). */
export function encodePaxosLeaderSector(leader: LeaderRecord, sectorSize: number): Uint8Array {
  throw new Error('stub');
}

/** Encodes a dblock (checksum computed) into target at offset. Returns the checksum. */
export function encodeDblock(dblock: Dblock, target: Uint8Array, offset = 0): number {
  throw new Error('stub');
}
export function decodeDblock(source: Uint8Array, offset = 0): Dblock {
  throw new Error('stub');
}
/** Checksum matches, or the block is all-zero (valid and empty, as sanlock treats it). */
export function dblockChecksumValid(dblock: Dblock): boolean {
  throw new Error('stub');
}
export function dblockIsEmpty(dblock: Dblock): boolean {
  throw new Error('stub');
}
export function encodeModeBlock(mode: ModeBlock, target: Uint8Array, offset: number): void {
  throw new Error('stub');
}
export function decodeModeBlock(source: Uint8Array, offset: number): ModeBlock {
  throw new Error('stub');
}
/** A full per-host paxos sector: dblock at 0, mode block at 128 if given (else zero), zero padding. */
export function encodeHostSector(dblock: Dblock, mode: ModeBlock | null, sectorSize: number): Uint8Array {
  throw new Error('stub');
}
export interface HostSector {
  dblock: Dblock;
  mode: ModeBlock;
}
export function decodeHostSector(source: Uint8Array, offset = 0): HostSector {
  throw new Error('stub');
}

export function encodeRequestSector(req: RequestRecord, sectorSize: number): Uint8Array {
  throw new Error('stub');
}
export function decodeRequest(source: Uint8Array, offset = 0): RequestRecord {
  throw new Error('stub');
}
/** Checks magic and major version (REQUEST_MAGIC / REQUEST_VERSION). */
export function verifyRequest(source: Uint8Array, offset: number, offsetBytesForMessage?: number): RequestRecord {
  throw new Error('stub');
}
