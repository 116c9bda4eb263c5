/**
 * Limits of the client protocol. Named so that the daemon, the client library and the tests agree,
 * and so a hostile or broken client can cost the daemon only a bounded amount of memory and work.
 */

/** Longest request or reply line, newline excluded. Requests are small; 64 KiB leaves room for paths. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Connections served at once; more are accepted and closed at once with TOO_MANY_CLIENTS. */
export const MAX_CLIENTS = 1024;
/** Requests one connection may have in progress at once (a waiting acquire counts). */
export const MAX_INFLIGHT_PER_CONNECTION = 64;
/** Leases one process may hold at once (sanlock's per-client limit is 8; leasehold allows more). */
export const MAX_LEASES_PER_PROCESS = 256;
/** The longest an acquire may wait for a busy lease. */
export const MAX_ACQUIRE_WAIT_SECONDS = 24 * 60 * 60;
/** A value block is one sector at most (sanlock: the lease's sector size, 512 or 4096). */
export const MAX_LVB_BYTES = 4096;
/** Client names are for humans reading status output. */
export const MAX_CLIENT_NAME_BYTES = 64;
/** Paths are passed to open(2); PATH_MAX is 4096. */
export const MAX_PATH_BYTES = 4096;
/** Request ids are echoed back; any non-negative safe integer works. */
export const MAX_REQUEST_ID = Number.MAX_SAFE_INTEGER;
/** Renewal history entries kept per lockspace in memory. */
export const RENEWAL_HISTORY_LENGTH = 256;
/** Events kept per lockspace for get_events. */
export const EVENT_BACKLOG_LENGTH = 256;
/** Protocol version spoken; a client sends it in `register` and gets it back. */
export const PROTOCOL_VERSION = 1;
/** Where clients look for the daemon when neither --socket nor $LEASEHOLD_SOCKET says otherwise. */
export const DEFAULT_SOCKET_PATH_FOR_CLIENTS = '/run/leasehold/leasehold.sock';
/** Segments of one LV mapping in an activate/refresh request (lvm's own limit is far above any real LV). */
export const MAX_MAPPING_SEGMENTS = 1024;
/** VG and LV names: lvm's NAME_LEN (128) less the terminating NUL. */
export const MAX_LVM_NAME_BYTES = 127;
