/**
 * Every error code a user or a script can meet, in one place: what it means, which exit status it
 * gives, and what to do. The CLI, the daemon's replies and the client library all report these
 * codes; lower layers that keep finer codes of their own (sanlock's, the disk's) are mapped here
 * by ERROR_ALIASES. docs/cli.md lists this table (a test keeps it in step).
 */
import type { ExitClass } from './exit-status.js';

export interface CatalogueEntry {
  /** Which part of the system reports it (for the docs' grouping). */
  group:
    | 'command line'
    | 'device'
    | 'on disk'
    | 'leases'
    | 'lockspaces'
    | 'daemon'
    | 'client'
    | 'watchdog'
    | 'volumes'
    | 'bug';
  meaning: string;
  exit: ExitClass;
  /** What to do, shown after the message. */
  hint: string;
}

/** Where bugs go; INTERNAL errors say so. */
export const REPORT_BUGS_TO = "the leasehold project's issue tracker";

const entry = (group: CatalogueEntry['group'], exit: ExitClass, meaning: string, hint: string): CatalogueEntry => ({
  group,
  meaning,
  exit,
  hint,
});

export const ERROR_CATALOGUE = {
  // The command line.
  BAD_ARGUMENT: entry('command line', 'usage', 'the command line or a request is not valid', 'see --help'),
  BAD_OFFSET: entry(
    'command line',
    'usage',
    'an offset is not a multiple of the align size, or lies past the end of the device',
    'give an offset inside the device that is a multiple of the align size, 1M by default',
  ),
  BAD_GEOMETRY: entry(
    'command line',
    'usage',
    'the sector size / align size combination is not one sanlock supports',
    'use -Z 512|4096 and -A 1M|2M|4M|8M: 4096-byte sectors need 2M or more',
  ),
  NAME_TOO_LONG: entry(
    'command line',
    'usage',
    'a lockspace, resource or host name is longer than 48 bytes in UTF-8',
    'use a name of at most 48 bytes: a non-ASCII character takes 2-4 bytes',
  ),
  NAME_INVALID: entry(
    'command line',
    'usage',
    'a name is empty or contains a NUL character',
    'use a non-empty name without NUL characters',
  ),
  // The device.
  DEVICE_OPEN: entry(
    'device',
    'failed',
    'the device or image cannot be opened',
    'check the path and your permissions: direct I/O needs read, and write for init',
  ),
  DEVICE_TOO_SMALL: entry(
    'device',
    'failed',
    'the area does not fit on the device',
    'use a smaller offset or a larger device',
  ),
  IO_ERROR: entry(
    'device',
    'failed',
    'a read or write of the device, or of a file or directory, failed',
    "check the path in the message; dmesg shows the kernel's view of a device",
  ),
  AREA_NOT_EMPTY: entry(
    'device',
    'failed',
    'the area to initialise already holds a lease area or other data',
    'check that this is the right device and offset; add --force to overwrite it',
  ),
  FOREIGN_SIGNATURE: entry(
    'device',
    'failed',
    'the device carries a file system, partition table, LVM label or a lease area of another lockspace',
    'check that this is the right device; add --force to overwrite it: wipefs shows what is there',
  ),
  PROBE_FAILED: entry(
    'device',
    'failed',
    'the device could not be checked for signatures (blkid and wipefs of util-linux)',
    'install util-linux; or, knowing what the device holds, add --force',
  ),
  // On disk.
  NOT_INITIALIZED: entry(
    'on disk',
    'failed',
    'no lease area here: the sectors are zero or carry no leader magic',
    'initialise it first: leasehold direct init, or check the offset',
  ),
  WRONG_NAME: entry(
    'on disk',
    'failed',
    'a lease area of another lockspace or resource name is here',
    'check the names and the offset: leasehold direct dump PATH lists what is on the device',
  ),
  WRONG_KIND: entry(
    'on disk',
    'failed',
    'a lockspace is here where a resource was expected, or a resource where a lockspace was expected',
    'check -s / -r and the offset: leasehold direct dump PATH lists what is on the device',
  ),
  DAMAGED: entry(
    'on disk',
    'failed',
    'a record fails its checksum or carries impossible values',
    'look at it with leasehold direct dump; re-initialise it only when no host uses it',
  ),
  LEASE_CLEARED: entry(
    'on disk',
    'failed',
    'the resource lease was deliberately invalidated (direct init -z 1)',
    'initialise it again without -z when it should be used',
  ),
  UNSUPPORTED_FORMAT: entry(
    'on disk',
    'failed',
    'a leader of a version, sector size or align leasehold does not support',
    'check the geometry options: -Z, -A against what direct dump shows',
  ),
  LOCK_ARGS_INVALID: entry(
    'on disk',
    'failed',
    "a VG or LV lock_args value is not lvmlockd's form",
    'check the VG metadata (vgcfgbackup); lock_args look like 1.0.0:lvmlock and 1.0.0:<offset>',
  ),
  LOCK_ARGS_VERSION: entry(
    'on disk',
    'failed',
    'the lock_args major version is not one leasehold knows (it knows 1)',
    'use the lvmlockd/leasehold version that made this VG',
  ),
  VALUE_BLOCK_VERSION: entry(
    'on disk',
    'failed',
    "a lock's value block has a version leasehold does not know",
    'use the lvmlockd/leasehold version that wrote it',
  ),
  HOST_ID_OUT_OF_RANGE: entry(
    'on disk',
    'failed',
    'the host_id is larger than the resource admits (its num_hosts)',
    'use a smaller host_id, or initialise the resource with a larger -n',
  ),
  // Leases.
  LEASE_HELD: entry(
    'leases',
    'held',
    'another host holds the lease',
    'wait for it: --wait SECONDS, or find the holder with leasehold status / direct dump',
  ),
  LEASE_HELD_LOCALLY: entry(
    'leases',
    'held',
    'another process on this host holds the lease',
    'wait for it: --wait SECONDS; leasehold status names the process',
  ),
  SHARED_HOLDERS: entry(
    'leases',
    'held',
    'live shared holders keep an exclusive acquire out',
    'wait until they release: --wait SECONDS, or acquire shared',
  ),
  HOSTID_BUSY: entry(
    'leases',
    'held',
    'another live host holds this host_id',
    'use another host_id: or auto; direct hosts shows who holds which',
  ),
  HOSTID_UNAVAILABLE: entry(
    'leases',
    'held',
    'auto host_id: every free slot is taken',
    'give a host_id explicitly, or stop a host that no longer needs its slot',
  ),
  TIMEOUT: entry(
    'leases',
    'held',
    'the wait for a busy lease ran out',
    'wait longer: --wait SECONDS, or find the holder with leasehold status',
  ),
  EVENT_BUSY: entry(
    'leases',
    'held',
    'another event to that host is still being sent',
    'try again in a few seconds, or use --replace',
  ),
  NOT_HELD: entry(
    'leases',
    'failed',
    'the lease is not held by you (in that mode)',
    'acquire it first; leasehold status lists what is held',
  ),
  ALREADY_HELD: entry(
    'leases',
    'failed',
    'you hold this lease already',
    'nothing to do; release it first to acquire it in another mode',
  ),
  NOT_OWNER: entry(
    'leases',
    'failed',
    'the lease belongs to another process',
    'release it from the process that holds it',
  ),
  TOO_MANY_LEASES: entry(
    'leases',
    'failed',
    'the limit of leases per process or per host is reached',
    'release leases you no longer need',
  ),
  LEASE_LOST: entry(
    'leases',
    'failed',
    'the lease (or the delta lease under it) was lost: renewals failed for too long or another host took over',
    'stop using what it protected; check the storage, then join again',
  ),
  LVER_MISMATCH: entry(
    'leases',
    'failed',
    "the lease's version (lver) is not the one given or held",
    'read the lease again: direct read-leader and retry with its lver',
  ),
  REQUEST_OLD: entry(
    'leases',
    'failed',
    'a request for this lease version is already satisfied or superseded',
    'read the lease again: direct read-leader and request the current lver',
  ),
  ABORTED: entry(
    'leases',
    'failed',
    'the operation was cancelled (by a signal or because the requester went away)',
    'run it again if it is still wanted',
  ),
  // Lockspaces.
  NOT_JOINED: entry(
    'lockspaces',
    'failed',
    "this host does not hold its delta lease in the resource's lockspace",
    'join the lockspace first: leasehold lockstart',
  ),
  NO_LOCKSPACE: entry(
    'lockspaces',
    'failed',
    'the lockspace is not started on this host',
    'start it: leasehold lockstart -s LS:HOST_ID:PATH:OFFSET',
  ),
  LOCKSPACE_EXISTS: entry(
    'lockspaces',
    'failed',
    'the lockspace is already started (or starting) with other parameters',
    'lockstop it first, or use the same parameters',
  ),
  LOCKSPACE_STARTING: entry('lockspaces', 'failed', 'the lockspace is still joining', 'retry, or use lockstart --wait'),
  LOCKSPACE_STOPPING: entry(
    'lockspaces',
    'failed',
    'the lockspace is being stopped',
    'wait until it has stopped, then start it again',
  ),
  LOCKSPACE_LOST: entry(
    'lockspaces',
    'failed',
    "the lockspace's delta lease was lost",
    'lockstop it, check the storage, then lockstart it again',
  ),
  LOCKSPACE_BUSY: entry(
    'lockspaces',
    'failed',
    'leases are held in the lockspace',
    'release them: or stop their processes, then lockstop',
  ),
  TOO_MANY_LOCKSPACES: entry(
    'lockspaces',
    'failed',
    'the daemon runs as many lockspaces as it allows',
    'lockstop a lockspace no longer needed first',
  ),
  // The daemon and its protocol.
  NO_DAEMON: entry(
    'daemon',
    'failed',
    'no daemon answers on the socket',
    'start it: systemctl start leasehold, or leasehold daemon, or give --socket',
  ),
  DAEMON_RUNNING: entry(
    'daemon',
    'failed',
    'another daemon already runs with this socket or state',
    'stop it first, or give another --socket / --state-dir',
  ),
  COMMAND_SERVER_RUNNING: entry(
    'daemon',
    'failed',
    'a command server already answers on this socket',
    'stop it first (systemctl stop leasehold-commands), or give another --socket',
  ),
  BAD_CONFIG: entry(
    'daemon',
    'usage',
    "the daemon's configuration is invalid",
    'fix the named setting in /etc/leasehold/leasehold.conf or on the command line',
  ),
  BAD_REQUEST: entry(
    'daemon',
    'failed',
    'the daemon received a request it cannot parse',
    'use a client of the same version as the daemon',
  ),
  ACCESS_DENIED: entry(
    'daemon',
    'failed',
    'you are not root, the daemon user, or in the socket group',
    'run as root, or ask for membership of the socket group',
  ),
  TOO_MANY_CLIENTS: entry(
    'daemon',
    'failed',
    'the daemon serves as many clients as it allows',
    'retry later, or close idle clients',
  ),
  TOO_MANY_REQUESTS: entry(
    'daemon',
    'failed',
    'too many requests are in progress on this connection',
    'wait for replies before sending more',
  ),
  TOO_MANY_LANES: entry(
    'daemon',
    'failed',
    'the daemon has as many I/O lanes as it allows: a device may be hanging',
    'check the storage (dmesg), then lockstop the lockspaces on a hung device',
  ),
  CLIENT_GONE: entry('daemon', 'failed', 'the process that asked has exited', 'nothing to do: its leases are released'),
  NOT_PERMITTED: entry(
    'daemon',
    'failed',
    'you may not act for that process (it is not your child)',
    'acquire leases for your own process or your children',
  ),
  NOT_SUPPORTED: entry(
    'daemon',
    'failed',
    'this operation is not available',
    'upgrade leasehold, or use the direct commands',
  ),
  SHUTTING_DOWN: entry('daemon', 'failed', 'the daemon is shutting down', 'wait for it to restart, then retry'),
  WATCHDOG_UNAVAILABLE: entry(
    'daemon',
    'failed',
    'the watchdog companion did not confirm the lockspace',
    'start the companion: leasehold watchdog, or its systemd unit and check its log',
  ),
  CONNECTION_CLOSED: entry(
    'client',
    'failed',
    'the daemon closed the connection',
    "check the daemon's log (journalctl -u leasehold)",
  ),
  PROTOCOL_ERROR: entry(
    'client',
    'failed',
    'the daemon sent a reply the client cannot read',
    'use a client of the same version as the daemon',
  ),
  COMMAND_FAILED: entry(
    'client',
    'failed',
    'the command to run could not be started',
    'check the command name and its permissions',
  ),
  // The watchdog companion and the test cluster.
  DEVICE_MISSING: entry(
    'watchdog',
    'failed',
    'the watchdog device does not exist',
    'load a watchdog driver: e.g. softdog or give --device',
  ),
  DEVICE_BUSY: entry(
    'watchdog',
    'failed',
    'another process holds the watchdog device',
    'stop the other watchdog user: wdmd, watchdog.service',
  ),
  DEVICE_ERROR: entry(
    'watchdog',
    'failed',
    'the watchdog device refused an operation',
    "check the device and the companion's log",
  ),
  TIMEOUT_UNSUPPORTED: entry(
    'watchdog',
    'failed',
    'the watchdog device cannot do the requested fire timeout',
    'use a timeout the device supports: see --probe',
  ),
  UNCLEAN_EXIT: entry(
    'watchdog',
    'failed',
    'a previous companion died without disarming and the host has not been reset since',
    'make sure no lease is in use, then leasehold watchdog --clear-marker',
  ),
  ALREADY_RUNNING: entry(
    'watchdog',
    'failed',
    'another companion serves this socket',
    'stop it first, or give another --socket',
  ),
  COMPANION_UNREACHABLE: entry(
    'watchdog',
    'failed',
    'nothing answers on the companion socket',
    'start the companion: leasehold watchdog',
  ),
  CLUSTER_ERROR: entry(
    'watchdog',
    'failed',
    'the test cluster could not do what was asked',
    'see the message; the test cluster is for tests and demos only',
  ),
  NO_SUCH_HOST: entry(
    'watchdog',
    'failed',
    'the test cluster has no such host',
    'list its hosts with leasehold testing-cluster status',
  ),
  HOST_DOWN: entry('watchdog', 'failed', 'the emulated host is not running', 'start it again in the test cluster'),
  // Volumes: the lvm-named commands (pvcreate ... lvs) and LVM2 metadata. These commands exit with lvm's statuses (3, 5).
  NOT_CONFIRMED: entry(
    'volumes',
    'failed',
    'the command needs a confirmation that was not given',
    'check the device, then answer y, or add -y / -ff as lvm would ask',
  ),
  DEVICE_NOT_FOUND: entry(
    'volumes',
    'failed',
    'no device or image at that path',
    'check the path; lvm-named commands see only the devices given or in the devices filter',
  ),
  NOT_A_PV: entry('volumes', 'failed', 'the device carries no LVM2 label', 'pvcreate it first, or check the path'),
  PV_NOT_FOUND: entry(
    'volumes',
    'failed',
    'the physical volume is not in the VG (or not in the backup file)',
    'list the PVs with pvs',
  ),
  PV_IN_USE: entry(
    'volumes',
    'failed',
    'the physical volume belongs to a volume group',
    'vgreduce it out of its VG first, or add -ff to overwrite it',
  ),
  SIGNATURE_FOUND: entry(
    'volumes',
    'failed',
    'the device carries a file system, partition table, LVM label or lease area',
    'check that this is the right device; wipefs shows what is there; add -ff (pvcreate) or --force to overwrite it',
  ),
  DUPLICATE_PV: entry(
    'volumes',
    'failed',
    'one PV UUID is seen on two devices',
    'filter one of the devices out with the devices setting, or give only one on the command line',
  ),
  MISSING_PV: entry(
    'volumes',
    'failed',
    'a PV of the VG is missing',
    'attach the missing device again; the VG is read-only until then',
  ),
  TOO_MANY_PVS: entry('volumes', 'failed', "the VG's max_pv is reached", 'raise max_pv, or use another VG'),
  LAST_PV: entry('volumes', 'failed', 'the last PV of a VG cannot be removed from it', 'vgremove the VG instead'),
  VG_EXISTS: entry(
    'volumes',
    'failed',
    'a volume group of that name exists already',
    'choose another name (vgs lists them)',
  ),
  VG_NOT_FOUND: entry(
    'volumes',
    'failed',
    'no volume group of that name is found on the devices',
    'check the name and the devices (vgs lists what is seen)',
  ),
  VG_CHECK_FAILED: entry(
    'volumes',
    'failed',
    'vgck found problems in the VG metadata',
    'read the lines above; vgck --updatemetadata repairs damaged or outdated copies',
  ),
  SHARED_VG: entry(
    'volumes',
    'failed',
    'the VG is shared (it has a lock type) and needs its lockspace for this',
    'start its lockspace: leasehold lockstart VG',
  ),
  SHARED_VG_LOCK: entry(
    'volumes',
    'failed',
    "a shared VG's lock LV (lvmlock) cannot be reached through one PV, or has no free lease slot",
    'see the message: leasehold needs lvmlock as one segment on one PV; lvm grows a full lvmlock',
  ),
  METADATA_STALE: entry(
    'volumes',
    'failed',
    "the VG metadata on this host's devices is older than the seqno in the VG lock's value block",
    'check that this host sees the same PVs as the others (the devices setting)',
  ),
  LOCKSPACE_IN_USE: entry(
    'volumes',
    'failed',
    "other hosts still have the shared VG's lockspace started",
    'stop it there first: leasehold lockstop VG, or vgchange --lock-stop VG',
  ),
  GLOBAL_LOCK: entry(
    'volumes',
    'failed',
    'the global lock (GLLK) is not available here, or would be lost or duplicated',
    'start the VG that holds it (leasehold lockstart VG), or move it with leasehold gl-enable / gl-disable',
  ),
  NOT_SHARED: entry(
    'volumes',
    'failed',
    'the VG is not a shared VG: it has no lockspace',
    'nothing to start; vgcreate --shared makes shared VGs',
  ),
  LV_EXISTS: entry(
    'volumes',
    'failed',
    'a logical volume of that name exists already in the VG',
    'choose another name (lvs lists them)',
  ),
  LV_NOT_FOUND: entry(
    'volumes',
    'failed',
    'no logical volume of that name in the VG',
    'check the name (lvs -a lists them)',
  ),
  LV_INTERNAL: entry(
    'volumes',
    'failed',
    'the logical volume is internal (hidden) and cannot be changed this way',
    'leave it alone: its VG manages it',
  ),
  LV_ACTIVE: entry(
    'volumes',
    'failed',
    'the LV is active on this host, and the change needs it inactive (its device carries its name)',
    'deactivate it first: leasehold lvchange -an VG/LV',
  ),
  LV_ACTIVE_SHARED: entry(
    'volumes',
    'failed',
    'the LV is active shared (-asy), and a shared-active LV is not resized',
    'deactivate it on every host (leasehold lvchange -an VG/LV), then resize it',
  ),
  TOO_MANY_LVS: entry(
    'volumes',
    'failed',
    "the VG's max_lv is reached",
    'raise max_lv, or remove LVs no longer needed',
  ),
  INSUFFICIENT_FREE_EXTENTS: entry(
    'volumes',
    'failed',
    'the VG (or the PVs named) has too few free extents',
    'use a smaller size, add a PV with vgextend, or name other PVs',
  ),
  SIZE_UNCHANGED: entry('volumes', 'failed', 'the new size equals the current size', 'give another size'),
  BAD_SIZE: entry(
    'volumes',
    'usage',
    'the size is not valid for this command (not larger for extend, not smaller for reduce)',
    'check the size and its + / - sign',
  ),
  BAD_FIELD: entry(
    'volumes',
    'usage',
    'a report field is unknown or too many fields were asked for',
    'see lvs -o help style field names in docs/volumes.md',
  ),
  BAD_FILE: entry(
    'volumes',
    'failed',
    'the metadata backup file cannot be read or is of another VG',
    'check the file (vgcfgbackup writes one)',
  ),
  NOT_FOUND: entry(
    'volumes',
    'failed',
    'a VG, LV or PV named on the command line was not found',
    'check the names (vgs, lvs, pvs list what is seen)',
  ),
  UNSUPPORTED: entry(
    'volumes',
    'usage',
    'an lvm option leasehold does not implement',
    'see docs/volumes.md for what is compatible with lvm',
  ),
  MDA_FULL: entry(
    'volumes',
    'failed',
    'the VG metadata no longer fits its metadata areas',
    'remove LVs or tags, or move the VG to PVs with larger metadata areas (pvcreate --metadatasize)',
  ),
  NO_METADATA_AREAS: entry(
    'volumes',
    'failed',
    'no PV of the VG has a usable metadata area to write to',
    'repair a damaged metadata area (vgck --updatemetadata) or add a PV with one',
  ),
  METADATA_DAMAGED: entry(
    'volumes',
    'failed',
    'the VG metadata cannot be read: a bad checksum, header or text',
    'vgck names the device and offset; vgcfgrestore from a backup if no good copy is left',
  ),
  PARSE_ERROR: entry(
    'volumes',
    'failed',
    'the LVM2 metadata text does not parse',
    'the message gives the byte and line; use another copy or a backup',
  ),
  BAD_METADATA: entry(
    'volumes',
    'failed',
    "the LVM2 metadata breaks one of lvm's rules (segments, extents, flags, names)",
    'the message says which; use another copy or a backup',
  ),
  BAD_UUID: entry(
    'volumes',
    'failed',
    'an LVM UUID is malformed',
    'check the UUID: 32 characters of [0-9a-zA-Z!#], dashes optional',
  ),
  BAD_LABEL: entry(
    'volumes',
    'failed',
    'an LVM2 label is malformed',
    'pvck --dump headers shows the label; pvcreate it again if nothing is on it',
  ),
  BAD_LAYOUT: entry(
    'volumes',
    'usage',
    'the PV layout asked for (metadata copies, sizes, alignment) is not possible',
    'check --pvmetadatacopies, --metadatasize and --dataalignment',
  ),
  BAD_NAME: entry(
    'volumes',
    'usage',
    "a VG or LV name breaks lvm's rules (characters, length, reserved names)",
    'use 1-127 characters of [A-Za-z0-9+_.-], not starting with -',
  ),
  LOCK_TIMEOUT: entry(
    'volumes',
    'failed',
    "another command on this host holds the VG's file lock",
    'wait for it to finish, then retry',
  ),
  LV_IN_USE: entry(
    'volumes',
    'failed',
    "a process has the LV's device open, so it cannot be deactivated",
    'stop the processes the message names (fuser -m, lsof), unmount it, then try again',
  ),
  LV_NOT_ACTIVE: entry(
    'volumes',
    'failed',
    'the LV is not active on this host',
    'activate it first: leasehold activate -aey|-asy VG/LV',
  ),
  // Activation backends (activation_backend in leasehold.conf).
  LV_MULTI_SEGMENT: entry(
    'volumes',
    'failed',
    'the loop backend maps single-segment LVs only, and this LV has several segments',
    'set activation_backend = dm in leasehold.conf (device-mapper maps any linear LV)',
  ),
  ACTIVATION_FAILED: entry(
    'volumes',
    'failed',
    "the LV's device could not be made, changed or removed (losetup, dmsetup or the kernel refused)",
    "the message gives the tool's words; check that the PVs are there and the kernel has loop or device-mapper",
  ),
  ACTIVATION_BUSY: entry(
    'volumes',
    'failed',
    "the LV's device is still in use (mounted, open, or held by another device)",
    'unmount it and stop what uses it (fuser -vm /dev/VG/LV), then deactivate again',
  ),
  // Bugs.
  INTERNAL: entry(
    'bug',
    'internal',
    'a bug in leasehold',
    `this is a bug: please report it to ${REPORT_BUGS_TO} with the command you ran and this line`,
  ),
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/**
 * Finer codes of lower layers (sanlock's conditions, the disk's errno-like codes, older names) and
 * the catalogue code each is reported as. Only these and the catalogue's own codes ever reach a user.
 */
export const ERROR_ALIASES: Readonly<Record<string, ErrorCode>> = {
  // Disk layer.
  EOPEN: 'DEVICE_OPEN',
  EIO: 'IO_ERROR',
  ERANGE: 'DEVICE_TOO_SMALL',
  EGEOMETRY: 'DEVICE_OPEN',
  EALIGN: 'INTERNAL',
  ECLOSED: 'INTERNAL',
  // Request validation, daemon and lease layers.
  INVALID_ARGUMENT: 'BAD_ARGUMENT',
  BAD_JSON: 'BAD_REQUEST',
  UNKNOWN_OP: 'BAD_REQUEST',
  MESSAGE_TOO_LARGE: 'BAD_REQUEST',
  DUPLICATE_REQUEST_ID: 'BAD_REQUEST',
  LAYOUT_INVALID: 'BAD_OFFSET',
  CORRUPT: 'DAMAGED',
  // On-disk records (sanlock's verify_leader conditions); LEADER_MAGIC is refined by what was found.
  LEADER_MAGIC: 'NOT_INITIALIZED',
  LEADER_CLEARED: 'LEASE_CLEARED',
  LEADER_VERSION: 'UNSUPPORTED_FORMAT',
  LEADER_SECTORSIZE: 'UNSUPPORTED_FORMAT',
  LEADER_ALIGN: 'UNSUPPORTED_FORMAT',
  LEADER_LOCKSPACE: 'WRONG_NAME',
  LEADER_RESOURCE: 'WRONG_NAME',
  LEADER_NUMHOSTS: 'HOST_ID_OUT_OF_RANGE',
  LEADER_CHECKSUM: 'DAMAGED',
  DBLOCK_CHECKSUM: 'DAMAGED',
  DBLOCK_LVER: 'DAMAGED',
  REQUEST_MAGIC: 'DAMAGED',
  REQUEST_VERSION: 'UNSUPPORTED_FORMAT',
  RINDEX_MAGIC: 'NOT_INITIALIZED',
  RINDEX_VERSION: 'UNSUPPORTED_FORMAT',
  RINDEX_OFFSET: 'DAMAGED',
  BUFFER_SIZE: 'INTERNAL',
  // Paxos (resource) leases: sanlock's acquire results.
  ACQUIRE_IDLIVE: 'LEASE_HELD',
  ACQUIRE_OWNED: 'LEASE_HELD',
  ACQUIRE_OTHER: 'LEASE_HELD',
  OWNER_NOWAIT: 'LEASE_HELD',
  ACQUIRE_SHRETRY: 'LEASE_HELD',
  SHARED_HELD: 'SHARED_HOLDERS',
  ACQUIRE_LVER: 'LVER_MISMATCH',
  RELEASE_LVER: 'LVER_MISMATCH',
  RELEASE_OWNER: 'LEASE_LOST',
  REQUEST_LVER: 'REQUEST_OLD',
  // Delta leases.
  RENEW_OWNER: 'LEASE_LOST',
  RENEW_DIFF: 'LEASE_LOST',
};

export function isCatalogueCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, code);
}

/** The catalogue code a code is reported as; unknown codes are bugs (INTERNAL). */
export function canonicalCode(code: string): ErrorCode {
  if (isCatalogueCode(code)) return code;
  return ERROR_ALIASES[code] ?? 'INTERNAL';
}

/** True when the code (or its alias) is in the catalogue. */
export function isKnownCode(code: string): boolean {
  return isCatalogueCode(code) || Object.hasOwn(ERROR_ALIASES, code);
}

export function catalogueEntry(code: string): CatalogueEntry {
  return ERROR_CATALOGUE[canonicalCode(code)];
}
