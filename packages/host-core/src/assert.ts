/**
 * Assertions that document a rule and stop before harm is done (TigerBeetle's habit): a broken
 * invariant in the host core means the daemon's picture of its leases is wrong, and going on could
 * let a process use a lease this host no longer holds.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
  readonly code = 'INVARIANT';
}

export function assert(condition: boolean, rule: string): asserts condition {
  if (!condition) throw new InvariantError(`host core invariant broken: ${rule}`);
}

/** Exhaustiveness guard for every switch over a union: a new member fails to compile here. */
export function assertNever(value: never, what = 'value'): never {
  throw new InvariantError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
