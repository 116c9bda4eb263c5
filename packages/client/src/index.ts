/** @leasehold/client: talk to the leasehold daemon from Node. */
export {
  LeaseholdClient,
  Lease,
  SOCKET_ENV,
  defaultSocketPath,
  type AcquireOptions,
  type ConnectOptions,
  type LeaseReleaseOptions,
  type LockstartOptions,
} from './client.js';
export { LeaseholdError, isLeaseholdError, type ClientErrorCode } from './errors.js';
export type {
  LeaseInfo,
  LeaseMode,
  LockspaceInfo,
  StatusResult,
  HostInfo,
  HostStatusResult,
  ProgressInfo,
  ResourceLocation,
  ForceMode,
  EventInfo,
  RenewalRecord,
  LockstartResult,
  LockstopResult,
  GetEventsResult,
  RenewalHistoryResult,
  RegisterResult,
  ActivateRequest,
  ActivateResult,
  ActivationInfo,
  ActivationLoss,
  ActiveDevice,
  DeactivateResult,
  LvMapping,
  LvSegmentMap,
  RefreshRequest,
  RefreshResult,
} from '@leasehold/protocol';
/** Shared extend's delta-lease events (docs/volumes.md). */
export { EVENT_LV_EXTENDED, EVENT_LV_REFRESHED } from '@leasehold/protocol';
