/**
 * The processes talking to the daemon, known from their sockets' peer credentials. A process is
 * identified by pid + start time (a reused pid is a different process) and watched through a pidfd:
 * when it exits, however it exits, its connections are closed (a forked child that inherited the
 * socket cannot go on speaking for it) and the registry's exit handler runs.
 */
import type { PeerCredentials } from '@leasehold/native';
import { readProcComm, readProcStat } from './proc.js';
import type { ProcessWatch } from './process-watch.js';

export interface ClientConnection {
  /** The process that opened the connection has exited: refuse its requests, close. */
  ownerGone(): void;
}

export class ClientProcess {
  name: string | null = null;
  gone = false;
  /** The pidfd watch callback (kept to stop watching when the last connection closes). */
  onExit: ((pid: number) => void) | undefined;
  readonly connections = new Set<ClientConnection>();

  constructor(
    readonly pid: number,
    readonly startTime: bigint,
    readonly uid: number,
    readonly gid: number,
    readonly comm: string | undefined,
  ) {}
}

export class ClientRegistry {
  private readonly processes = new Map<number, ClientProcess>();

  constructor(
    private readonly watch: ProcessWatch,
    private readonly onExit: (client: ClientProcess) => void,
  ) {}

  /** Registers a new connection of the peer; undefined when the peer has already exited. */
  attach(credentials: PeerCredentials, connection: ClientConnection): ClientProcess | undefined {
    const stat = readProcStat(credentials.pid);
    if (stat === undefined) return undefined;
    let client = this.processes.get(credentials.pid);
    if (client !== undefined && client.startTime !== stat.startTime) {
      // The pid was reused: the old process is gone even if its pidfd has not been polled yet.
      this.exited(client);
      client = undefined;
    }
    if (client === undefined) {
      client = new ClientProcess(
        credentials.pid,
        stat.startTime,
        credentials.uid,
        credentials.gid,
        readProcComm(credentials.pid),
      );
      const created = client;
      created.onExit = () => this.exited(created);
      if (!this.watch.watchIncarnation(client.pid, stat.startTime, created.onExit)) return undefined;
      this.processes.set(client.pid, client);
    }
    client.connections.add(connection);
    return client;
  }

  detach(client: ClientProcess, connection: ClientConnection): void {
    client.connections.delete(connection);
    // A live process without connections keeps its leases (they are released when it exits);
    // the lease registry watches lease holders itself.
    if (client.connections.size === 0 && !client.gone) {
      this.processes.delete(client.pid);
      if (client.onExit !== undefined) this.watch.unwatch(client.pid, client.onExit);
    }
  }

  /** Looks again at every watched process now (a socket closed: its peer may just have died). */
  checkNow(): void {
    this.watch.check();
  }

  list(): ClientProcess[] {
    return [...this.processes.values()];
  }

  private exited(client: ClientProcess): void {
    if (client.gone) return;
    client.gone = true;
    if (this.processes.get(client.pid) === client) this.processes.delete(client.pid);
    for (const connection of [...client.connections]) connection.ownerGone();
    this.onExit(client);
  }
}
