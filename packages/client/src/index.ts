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
} from '@leasehold/protocol';
