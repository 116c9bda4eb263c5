/** Conversions between in-daemon values and their JSON/wire forms. */
import type { HeldLease } from '@leasehold/lease';

/** JSON with bigints and byte arrays (the value block) tagged, so a HeldLease survives the state database and comes back exact. */
export function encodeToken(held: HeldLease): string {
  return JSON.stringify(held, (_key, value: unknown) => {
    if (typeof value === 'bigint') return { $big: value.toString() };
    if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('hex') };
    return value;
  });
}

export function decodeToken(text: string): HeldLease {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && typeof (value as { $big?: unknown }).$big === 'string') {
      return BigInt((value as { $big: string }).$big);
    }
    if (typeof value === 'object' && value !== null && typeof (value as { $bytes?: unknown }).$bytes === 'string') {
      return new Uint8Array(Buffer.from((value as { $bytes: string }).$bytes, 'hex'));
    }
    return value;
  }) as HeldLease;
}

/** Plain-JSON copy of error details (bigints as decimal strings) for replies and logs. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = jsonSafe(inner);
    return out;
  }
  return value;
}
