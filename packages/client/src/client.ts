/**
 * LeaseholdClient: a typed client of the leasehold daemon, for the CLI and any Node program.
 *
 *   const client = await LeaseholdClient.connect({ name: 'my-app' });
 *   const lease = await client.acquire({ lockspace: 'vg0', resource: 'disk1', path: '/dev/sdb', offsetBytes: 1048576 });
 *   ...
 *   await lease.release();
 *   client.close();
 *
 * Leases belong to the calling process (the daemon knows it from the socket's peer credentials) and
 * are released by the daemon when the process exits, however it exits.
 */
import {
  DEFAULT_SOCKET_PATH_FOR_CLIENTS,
  type AcquireRequest,
  type ActivateRequest,
  type ActivateResult,
  type ActivationInfo,
  type DeactivateResult,
  type RefreshRequest,
  type RefreshResult,
  type ForceMode,
  type GetEventsResult,
  type HostStatusResult,
  type InquireResult,
  type LeaseInfo,
  type LeaseMode,
  type LockstartResult,
  type LockstopResult,
  type ProgressInfo,
  type RegisterResult,
  type RenewalHistoryResult,
  type ResourceLocation,
  type ResultOf,
  type StatusResult,
} from '@leasehold/protocol';
import { DaemonConnection } from './connection.js';

/** The environment variable every client honours for the socket path. */
export const SOCKET_ENV = 'LEASEHOLD_SOCKET';

export function defaultSocketPath(): string {
  const fromEnv = process.env[SOCKET_ENV];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_SOCKET_PATH_FOR_CLIENTS;
}

export interface ConnectOptions {
  /** Default: $LEASEHOLD_SOCKET, else /run/leasehold/leasehold.sock. */
  socketPath?: string;
  /** Shown in `leasehold status`. */
  name?: string;
}

export interface AcquireOptions {
  /** 'EX' (default) or 'SH'. */
  mode?: LeaseMode;
  /** 0 (default): fail at once if busy; otherwise keep trying this many seconds. */
  waitSeconds?: number;
  /** Require this lease version (decimal). */
  lver?: bigint | string;
  /** Held by the daemon itself, beyond this process's life. */
  persistent?: boolean;
  /** Hold it for this child process instead of the caller. */
  holderPid?: number;
  /** Read the lease's value block at acquire (sanlock's SANLK_ACQUIRE_LVB): `lease.lvb` then holds it. */
  lvb?: boolean;
}

export interface LeaseReleaseOptions {
  /** Set the value block just before releasing (written if held EX; at most one sector). */
  lvb?: Uint8Array;
}

export interface LockstartOptions {
  wait?: boolean;
  onProgress?: (progress: ProgressInfo) => void;
}

/** A lease held through this client. */
export class Lease {
  constructor(
    private readonly client: LeaseholdClient,
    private current: LeaseInfo,
    private readonly owner: { persistent?: boolean; holderPid?: number },
    /** The value block as read at acquire (one sector), when acquired with `lvb: true`. */
    readonly lvb?: Buffer,
  ) {}

  get info(): LeaseInfo {
    return this.current;
  }

  get lockspace(): string {
    return this.current.lockspace;
  }

  get resource(): string {
    return this.current.resource;
  }

  get mode(): LeaseMode {
    return this.current.mode;
  }

  async release(options: LeaseReleaseOptions = {}): Promise<void> {
    await this.client.release(this.current.lockspace, this.current.resource, { ...this.owner, ...options });
  }

  /** sanlock's set_lvb: written when this lease is released while held EX. */
  async setLvb(data: Uint8Array): Promise<void> {
    await this.client.setLvb(this.current.lockspace, this.current.resource, data, this.owner);
  }

  /** sanlock's get_lvb: `sizeBytes` (default one sector) of the value as read at acquire or last set. */
  getLvb(sizeBytes?: number): Promise<Buffer> {
    return this.client.getLvb(this.current.lockspace, this.current.resource, sizeBytes, this.owner);
  }

  async convert(mode: LeaseMode): Promise<Lease> {
    this.current = await this.client.convert(this.current.lockspace, this.current.resource, mode, this.owner);
    return this;
  }
}

export class LeaseholdClient {
  private constructor(
    private readonly connection: DaemonConnection,
    readonly identity: RegisterResult,
  ) {}

  /** Connects and registers (which also surfaces ACCESS_DENIED at once). */
  static async connect(options: ConnectOptions = {}): Promise<LeaseholdClient> {
    const connection = await DaemonConnection.open(options.socketPath ?? defaultSocketPath());
    try {
      const identity = (await connection.call(
        'register',
        options.name === undefined ? {} : { name: options.name },
      )) as RegisterResult;
      return new LeaseholdClient(connection, identity);
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  /** Any operation by name (for tools that pass requests through). */
  call<Op extends keyof ResultOf>(
    op: Op,
    params: Record<string, unknown> = {},
    onProgress?: (progress: ProgressInfo) => void,
  ): Promise<ResultOf[Op]> {
    return this.connection.call(op, params, onProgress) as Promise<ResultOf[Op]>;
  }

  async acquire(location: ResourceLocation, options: AcquireOptions = {}): Promise<Lease> {
    const params: Omit<AcquireRequest, 'op'> = {
      ...location,
      mode: options.mode ?? 'EX',
      ...(options.waitSeconds === undefined ? {} : { waitSeconds: options.waitSeconds }),
      ...(options.lver === undefined ? {} : { lver: options.lver.toString() }),
      ...(options.persistent === undefined ? {} : { persistent: options.persistent }),
      ...(options.holderPid === undefined ? {} : { holderPid: options.holderPid }),
      ...(options.lvb === true ? { lvb: true } : {}),
    };
    const { lease, lvb } = await this.call('acquire', params);
    const owner = {
      ...(options.persistent ? { persistent: true } : {}),
      ...(options.holderPid === undefined ? {} : { holderPid: options.holderPid }),
    };
    return new Lease(this, lease, owner, lvb === undefined ? undefined : Buffer.from(lvb, 'hex'));
  }

  async release(
    lockspace: string,
    resource: string,
    options: { persistent?: boolean; holderPid?: number } & LeaseReleaseOptions = {},
  ): Promise<void> {
    const { lvb, ...owner } = options;
    await this.call('release', {
      lockspace,
      resource,
      ...owner,
      ...(lvb === undefined ? {} : { lvb: Buffer.from(lvb).toString('hex') }),
    });
  }

  async setLvb(
    lockspace: string,
    resource: string,
    data: Uint8Array,
    owner: { persistent?: boolean; holderPid?: number } = {},
  ): Promise<void> {
    await this.call('set_lvb', { lockspace, resource, data: Buffer.from(data).toString('hex'), ...owner });
  }

  async getLvb(
    lockspace: string,
    resource: string,
    sizeBytes?: number,
    owner: { persistent?: boolean; holderPid?: number } = {},
  ): Promise<Buffer> {
    const { lvb } = await this.call('get_lvb', {
      lockspace,
      resource,
      ...(sizeBytes === undefined ? {} : { size: sizeBytes }),
      ...owner,
    });
    return Buffer.from(lvb, 'hex');
  }

  async convert(
    lockspace: string,
    resource: string,
    mode: LeaseMode,
    owner: { persistent?: boolean; holderPid?: number } = {},
  ): Promise<LeaseInfo> {
    return (await this.call('convert', { lockspace, resource, mode, ...owner })).lease;
  }

  async inquire(options: { persistent?: boolean } = {}): Promise<LeaseInfo[]> {
    return ((await this.call('inquire', options)) as InquireResult).leases;
  }

  /** Asks the holder of a lease to give it up (sanlock's request). */
  async request(
    location: ResourceLocation,
    lver: bigint | 'next',
    forceMode: ForceMode,
  ): Promise<Record<string, unknown>> {
    return (await this.call('request', { ...location, lver: lver.toString(), forceMode })) as unknown as Record<
      string,
      unknown
    >;
  }

  async setEvent(
    lockspace: string,
    hostId: number,
    event: bigint,
    data: bigint,
    options: { generation?: bigint; replace?: boolean } = {},
  ): Promise<void> {
    await this.call('set_event', {
      lockspace,
      hostId,
      event: event.toString(),
      data: data.toString(),
      ...(options.generation === undefined ? {} : { generation: options.generation.toString() }),
      ...(options.replace === undefined ? {} : { replace: options.replace }),
    });
  }

  getEvents(lockspace: string, afterSeq = 0): Promise<GetEventsResult> {
    return this.call('get_events', { lockspace, afterSeq });
  }

  status(): Promise<StatusResult> {
    return this.call('status');
  }

  hostStatus(lockspace: string): Promise<HostStatusResult> {
    return this.call('host_status', { lockspace });
  }

  renewalHistory(lockspace: string, limit?: number): Promise<RenewalHistoryResult> {
    return this.call('renewal_history', { lockspace, ...(limit === undefined ? {} : { limit }) });
  }

  lockstart(
    lockspace: string,
    hostId: number | 'auto',
    path: string,
    offsetBytes: number,
    options: LockstartOptions = {},
  ): Promise<LockstartResult> {
    return this.call(
      'lockstart',
      { lockspace, hostId, path, offsetBytes, wait: options.wait ?? false },
      options.onProgress,
    );
  }

  lockstop(lockspace: string, options: { wait?: boolean } = {}): Promise<LockstopResult> {
    return this.call('lockstop', { lockspace, wait: options.wait ?? false });
  }

  /**
   * Activates an LV on this host: the daemon holds its lease (EX or SH) for as long as it is active,
   * beyond this process's life. LEASE_HELD / SHARED_HOLDERS name the other holders in the details.
   */
  activate(request: Omit<ActivateRequest, 'op'>): Promise<ActivateResult> {
    return this.call('activate', { ...request });
  }

  /** Deactivates an LV active on this host (LV_IN_USE while a process has its device open). */
  deactivate(lockspace: string, resource: string): Promise<DeactivateResult> {
    return this.call('deactivate', { lockspace, resource });
  }

  /** Makes an LV active on this host follow its changed mapping (LV_NOT_ACTIVE when it is not active here). */
  refreshActivation(request: Omit<RefreshRequest, 'op'>): Promise<RefreshResult> {
    return this.call('refresh', { ...request });
  }

  /** The LVs active on this host, in one lockspace or all. */
  async activations(lockspace?: string): Promise<ActivationInfo[]> {
    return (await this.call('activations', lockspace === undefined ? {} : { lockspace })).activations;
  }

  close(): void {
    this.connection.close();
  }

  unref(): void {
    this.connection.unref();
  }
}
