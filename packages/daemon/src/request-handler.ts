/** Dispatch of validated requests to the parts of the daemon that serve them. */
import { assertNever } from '@leasehold/host-core';
import type { Logger } from '@leasehold/lease';
import type { ClientRegistry } from './clients/client-registry.js';
import type { DaemonConfig } from './config/daemon-config.js';
import type { LeaseRegistry } from './leases/lease-registry.js';
import type { LockspaceManager } from './lockspaces/lockspace-manager.js';
import { DaemonError } from './protocol/codes.js';
import { PROTOCOL_VERSION } from './protocol/limits.js';
import type { Request, StatusResult } from './protocol/messages.js';
import type { RequestContext } from './server/connection.js';
import { monotonicSeconds } from './util/monotonic.js';
import type { WatchdogLink } from './watchdog/watchdog-link.js';

export interface HandlerDeps {
  config: DaemonConfig;
  hostName: string;
  lockspaces: LockspaceManager;
  leases: LeaseRegistry;
  clients: ClientRegistry;
  watchdog: WatchdogLink;
  logger: Logger;
  startedAtSeconds: number;
  isShuttingDown(): boolean;
}

export function createRequestHandler(deps: HandlerDeps): (request: Request, context: RequestContext) => Promise<unknown> {
  const { lockspaces, leases } = deps;

  const status = (): StatusResult => ({
    daemon: {
      pid: process.pid,
      hostName: deps.hostName,
      ioTimeoutSeconds: deps.config.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: deps.config.watchdogFireTimeoutSeconds,
      killGraceSeconds: deps.config.killGraceSeconds,
      watchdog: deps.watchdog.kind,
      socketPath: deps.config.socketPath,
      stateDir: deps.config.stateDir,
      uptimeSeconds: Math.round(monotonicSeconds() - deps.startedAtSeconds),
    },
    lockspaces: lockspaces.list().map((ls) => lockspaces.info(ls)),
    leases: leases.all(),
    clients: deps.clients.list().map((client) => ({
      pid: client.pid,
      uid: client.uid,
      name: client.name ?? client.comm ?? null,
      connections: client.connections.size,
      leaseCount: leases.countHeldBy({ kind: 'process', pid: client.pid, startTime: client.startTime, uid: client.uid }),
    })),
  });

  return async (request, context) => {
    const { client } = context;
    const refuseWhenClosing = (): void => {
      if (deps.isShuttingDown()) throw new DaemonError('SHUTTING_DOWN', 'the daemon is shutting down');
    };
    switch (request.op) {
      case 'register':
        if (request.name !== undefined) client.name = request.name;
        return { pid: client.pid, uid: client.uid, hostName: deps.hostName, protocolVersion: PROTOCOL_VERSION, daemonPid: process.pid };
      case 'acquire':
        refuseWhenClosing();
        return { lease: await leases.acquire(request, { client, signal: context.signal }) };
      case 'release':
        await leases.release(request, client);
        return {};
      case 'convert':
        return { lease: await leases.convert(request, { client, signal: context.signal }) };
      case 'inquire': {
        const own = leases.heldBy({ kind: 'process', pid: client.pid, startTime: client.startTime, uid: client.uid });
        return { leases: request.persistent === true ? [...own, ...leases.heldBy({ kind: 'persistent' })] : own };
      }
      case 'request':
        return leases.request(request);
      case 'set_event':
        await lockspaces.setEvent(request.lockspace, request.hostId, BigInt(request.event), BigInt(request.data), BigInt(request.generation ?? '0'), request.replace ?? false);
        return {};
      case 'get_events': {
        const ls = lockspaces.get(request.lockspace);
        if (ls === undefined) throw new DaemonError('NO_LOCKSPACE', `lockspace ${request.lockspace} is not started on this host`);
        return ls.eventsAfter(request.afterSeq ?? 0);
      }
      case 'status':
        return status();
      case 'host_status': {
        const ls = lockspaces.get(request.lockspace);
        if (ls === undefined || ls.hostId === null) throw new DaemonError('NO_LOCKSPACE', `lockspace ${request.lockspace} is not joined on this host`);
        return { lockspace: ls.name, hostId: ls.hostId, hosts: ls.hostInfos() };
      }
      case 'renewal_history': {
        const ls = lockspaces.get(request.lockspace);
        if (ls === undefined) throw new DaemonError('NO_LOCKSPACE', `lockspace ${request.lockspace} is not started on this host`);
        return { lockspace: ls.name, renewals: ls.renewalHistory(request.limit ?? 32) };
      }
      case 'lockstart':
        refuseWhenClosing();
        return { lockspace: await lockspaces.lockstart(request, context.progress) };
      case 'lockstop':
        return lockspaces.lockstop(request.lockspace, request.wait ?? false);
      default:
        return assertNever(request, 'request');
    }
  };
}
