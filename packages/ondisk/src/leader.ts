import type { LeaderRecord } from './records.js';

export type LeaderKind = 'delta' | 'paxos';

export interface LeaderExpectation {
  kind: LeaderKind;
  /** Absolute device offset of the record, used in error messages. */
  offsetBytes?: number;
  spaceName?: string;
  /** Paxos only: the resource name. */
  resourceName?: string;
}

/** Encodes the 200-byte record into target at offset (the checksum field is computed, rec.checksum ignored). Returns the checksum. */
export function encodeLeader(rec: LeaderRecord, target: Uint8Array, offset = 0): number {
  throw new Error('stub');
}
/** Decodes 200 bytes at offset without validation (checksum as stored). Throws BUFFER_SIZE if short. */
export function decodeLeader(source: Uint8Array, offset = 0): LeaderRecord {
  throw new Error('stub');
}
/** The checksum a correctly encoded `rec` carries. */
export function leaderChecksum(rec: LeaderRecord): number {
  throw new Error('stub');
}
/**
 * Decodes and verifies like sanlock: magic (CLEAR gives LEADER_CLEARED), major version,
 * space name, resource name (paxos), checksum. Throws OnDiskError with found/expected/offset.
 */
export function verifyLeader(source: Uint8Array, offset: number, expect: LeaderExpectation): LeaderRecord {
  throw new Error('stub');
}
/** True when the first LEADER_COMPARE_BYTES of two encoded leaders are equal. */
export function leadersMatchForCompare(a: LeaderRecord, b: LeaderRecord): boolean {
  throw new Error('stub');
}
/** All 200 encoded bytes equal (after recomputing neither checksum). */
export function leadersIdentical(a: LeaderRecord, b: LeaderRecord): boolean {
  throw new Error('stub');
}
