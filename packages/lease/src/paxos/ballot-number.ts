/**
 * Ballot numbers (§5.1 step 4, §7.3): `mbal ≡ host_id (mod leader.max_hosts)`, so the numbers of
 * different hosts never collide with each other nor with sanlock's; each retry increases ours.
 */

/**
 * The smallest of our ballot numbers sanlock's rule gives above `maxSeenMbal`:
 * host_id when nothing was seen, else (max - max mod max_hosts) + max_hosts + host_id.
 * The result is always > maxSeenMbal (max mod max_hosts < max_hosts <= max_hosts + host_id).
 */
export function ballotAbove(maxSeenMbal: bigint, hostId: number, maxHosts: bigint): bigint {
  const id = BigInt(hostId);
  if (maxSeenMbal === 0n) return id;
  return maxSeenMbal - (maxSeenMbal % maxHosts) + maxHosts + id;
}

/**
 * The next ballot after an abort: at least `max_hosts` above the last one (§5.1 "mbal += max_hosts")
 * and above every mbal seen in the aborted ballot's read, so a stale high mbal costs one retry, not
 * one per max_hosts step. Both candidates are ≡ host_id, so the result is too.
 */
export function nextBallotAfterAbort(lastMbal: bigint, maxSeenMbal: bigint, hostId: number, maxHosts: bigint): bigint {
  const stepped = lastMbal + maxHosts;
  const above = ballotAbove(maxSeenMbal, hostId, maxHosts);
  // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max takes numbers only)
  return stepped > above ? stepped : above;
}

/** Safety invariant (§7.3), cheap enough to check on every ballot. */
export function assertOurBallot(mbal: bigint, hostId: number, maxHosts: bigint): void {
  if (mbal <= 0n || mbal % maxHosts !== BigInt(hostId) % maxHosts) {
    throw new Error(`internal: ballot number ${mbal} is not ≡ host_id ${hostId} (mod ${maxHosts})`);
  }
}
