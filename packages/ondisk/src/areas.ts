import type { Geometry } from './layout.js';

export interface LockspaceAreaOptions {
  spaceName: string;
  geometry: Geometry;
  ioTimeoutSeconds: number;
}
/** The align-sized image `sanlock direct init -s` writes (byte-identical), with sector 0 valid. */
export function buildLockspaceArea(opts: LockspaceAreaOptions): Uint8Array {
  throw new Error('stub');
}

export interface ResourceAreaOptions {
  spaceName: string;
  resourceName: string;
  geometry: Geometry;
  /** 0 or above max means max (sanlock's -n). */
  numHosts?: number;
  /** Write the CLEAR (invalidated) form with this write_timestamp. */
  clearWriteTimestamp?: bigint;
}
/** The align-sized image `sanlock direct init -r` writes (byte-identical). */
export function buildResourceArea(opts: ResourceAreaOptions): Uint8Array {
  throw new Error('stub');
}
