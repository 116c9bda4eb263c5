/** Paxos resource leases (sanlock 3.8 compatible): exclusive, shared, conversion, release, requests. */
export * from './types.js';
export * from './errors.js';
export { acquireLease, SH_RETRIES, type AcquireOptions } from './acquire.js';
export { releaseLease, type ReleaseOutcome } from './release.js';
export { convertLease, type ConvertOptions } from './convert.js';
export { requestLease, type ForceMode, type RequestIo, type RequestOptions, type RequestResult } from './request.js';
export {
  examineRequests,
  RequestWatcher,
  type LeaseRequestNotice,
  type RequestAction,
  type RequestWatchIo,
} from './request-watch.js';
export { PaxosLeaseManager } from './manager.js';
export { checkValueBlockGeometry, getValueBlock, setValueBlock, type LeaseValueBlock } from './value-block.js';
export { describeHolder, holderFacts } from './holder-facts.js';
export { sharedHolderLiveness } from './shared-holders.js';
export { ballotAbove, nextBallotAfterAbort } from './ballot-number.js';
export { OWNER_COMMIT_POLL_SECONDS, OWNER_COMMIT_WAIT_SECONDS } from './commit.js';
export { OWNER_POLL_INTERVAL_SECONDS } from './owner-liveness.js';
export {
  JOIN_WAIT_MIN_SECONDS,
  MEMBERSHIP_REUSE_SECONDS,
  MEMBERSHIP_VALID_SECONDS,
  MIN_IO_TIMEOUT_SECONDS,
  type BallotRangeOptions,
} from './ballot-range.js';
