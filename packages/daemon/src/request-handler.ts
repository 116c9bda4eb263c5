/** Dispatch of validated requests to the parts of the daemon that serve them. */
import { assertNever } from '@leasehold/host-core';
import type { Logger } from '@leasehold/lease';
import type { ActivationRegistry } from './activations/activation-registry.js';
import type { ClientRegistry } from './clients/client-registry.js';
import type { DaemonConfig } from './config/daemon-config.js';
import type { LeaseRegistry } from './leases/lease-registry.js';
import type { LockspaceManager } from './lockspaces/lockspace-manager.js';
import { DaemonError } from '@leasehold/protocol';
import { PROTOCOL_VERSION } from '@leasehold/protocol';
import type { Request, StatusResult } from '@leasehold/protocol';
import { wireErrorOf } from './lockspaces/lockspace-manager.js';
import type { RequestContext } from './server/connection.js';
import { monotonicSeconds } from './util/monotonic.js';
import type { WatchdogLink } from './watchdog/watchdog-link.js';

export interface HandlerDeps {
  config: DaemonConfig;
  hostName: string;
  lockspaces: LockspaceManager;
  leases: LeaseRegistry;
  activations: ActivationRegistry;
  clients: ClientRegistry;
  watchdog: WatchdogLink;
  logger: Logger;
  startedAtSeconds: number;
  isShuttingDown(): boolean;
}

export function createRequestHandler(
  deps: HandlerDeps,
): (request: Request, context: RequestContext) => Promise<unknown> {
  const { lockspaces, leases, activations } = deps;

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
      leaseCount: leases.countHeldBy({
        kind: 'process',
        pid: client.pid,
        startTime: client.startTime,
        uid: client.uid,
      }),
    })),
    activations: activations.list(),
  });

  /**
   * Every grant, refusal and release, with the resource, the mode, the requester (clientPid), the
   * process the lease is for (holderPid) and, for a refusal, who holds it.
   */
  const logged = async <T>(
    op: 'acquire' | 'release' | 'convert',
    request: { lockspace: string; resource: string; mode?: string; holderPid?: number; persistent?: boolean },
    clientPid: number,
    run: () => Promise<T>,
  ): Promise<T> => {
    const fields = {
      lockspace: request.lockspace,
      resource: request.resource,
      ...(request.mode === undefined ? {} : { mode: request.mode }),
      clientPid,
      holderPid: request.persistent === true ? 'persistent' : (request.holderPid ?? clientPid),
    };
    const startedMs = performance.now();
    try {
      const result = await run();
      deps.logger.info(
        { ...fields, ms: Number((performance.now() - startedMs).toFixed(2)) },
        op === 'release' ? 'lease released' : op === 'convert' ? 'lease converted' : 'lease granted',
      );
      return result;
    } catch (error) {
      const { code, message, details } = wireErrorOf(error);
      deps.logger.info(
        {
          ...fields,
          ms: Number((performance.now() - startedMs).toFixed(2)),
          code,
          reason: message,
          ...(details === undefined ? {} : { holders: details['holders'] ?? details['holder'] }),
        },
        `${op} refused`,
      );
      throw error;
    }
  };

  return async (request, context) => {
    const { client } = context;
    const refuseWhenClosing = (): void => {
      if (deps.isShuttingDown()) throw new DaemonError('SHUTTING_DOWN', 'the daemon is shutting down');
    };
    switch (request.op) {
      case 'register':
        if (request.name !== undefined) client.name = request.name;
        return {
          pid: client.pid,
          uid: client.uid,
          hostName: deps.hostName,
          protocolVersion: PROTOCOL_VERSION,
          daemonPid: process.pid,
        };
      case 'acquire':
        refuseWhenClosing();
        return logged('acquire', request, client.pid, () =>
          leases.acquireWithValue(request, { client, signal: context.signal }),
        );
      case 'release':
        await logged('release', request, client.pid, () => leases.release(request, client));
        return {};
      case 'set_lvb':
        leases.setLvb(request, client);
        return {};
      case 'get_lvb':
        return { lvb: leases.getLvb(request, client) };
      case 'convert':
        return {
          lease: await logged('convert', request, client.pid, () =>
            leases.convert(request, { client, signal: context.signal }),
          ),
        };
      case 'inquire': {
        const own = leases.heldBy({ kind: 'process', pid: client.pid, startTime: client.startTime, uid: client.uid });
        return { leases: request.persistent === true ? [...own, ...leases.heldBy({ kind: 'persistent' })] : own };
      }
      case 'request':
        return leases.request(request);
      case 'set_event':
        await lockspaces.setEvent(
          request.lockspace,
          request.hostId,
          BigInt(request.event),
          BigInt(request.data),
          BigInt(request.generation ?? '0'),
          request.replace ?? false,
        );
        return {};
      case 'get_events': {
        const ls = lockspaces.get(request.lockspace);
        if (ls === undefined)
          throw new DaemonError('NO_LOCKSPACE', `lockspace ${request.lockspace} is not started on this host`);
        return ls.eventsAfter(request.afterSeq ?? 0);
      }
      case 'status':
        return status();
      case 'host_status': {
        const ls = lockspaces.get(request.lockspace);
        if (ls === undefined || ls.hostId === null)
          throw new DaemonError('NO_LOCKSPACE', `lockspace ${request.lockspace} is not joined on this host`);
        return { lockspace: ls.name, hostId: ls.hostId, hosts: ls.hostInfos() };
      }
      case 'renewal_history': {
        const ls = lockspaces.get(request.lockspace);
        if (ls === undefined)
          throw new DaemonError('NO_LOCKSPACE', `lockspace ${request.lockspace} is not started on this host`);
        return { lockspace: ls.name, renewals: ls.renewalHistory(request.limit ?? 32) };
      }
      case 'lockstart':
        refuseWhenClosing();
        return { lockspace: await lockspaces.lockstart(request, context.progress) };
      case 'lockstop':
        return lockspaces.lockstop(request.lockspace, request.wait ?? false);
      case 'activate':
        refuseWhenClosing();
        return logged(
          'acquire',
          { lockspace: request.lockspace, resource: request.resource, mode: request.mode, persistent: true },
          client.pid,
          () => activations.activate(request, { client, signal: context.signal }),
        );
      case 'deactivate':
        return activations.deactivate(request.lockspace, request.resource);
      case 'refresh':
        refuseWhenClosing();
        return activations.refresh(request);
      case 'activations':
        return { activations: activations.list(request.lockspace) };
      default:
        return assertNever(request, 'request');
    }
  };
}
