/**
 * Who may use the socket: root, the daemon's own user, and members of the configured socket group
 * (primary or supplementary group of the peer process). The socket file's mode (0660, root:group)
 * already keeps others out; the peer-credential check is the second wall, and the one that still
 * holds if the file's permissions are ever wrong.
 */
import { readFileSync } from 'node:fs';
import type { PeerCredentials } from '@leasehold/native';
import { readProcGroups } from '../clients/proc.js';
import { DaemonError } from '@leasehold/protocol';

/** The gid of a group name (from /etc/group), or the number itself. */
export function resolveGroup(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch (error) {
    throw new DaemonError(
      'BAD_CONFIG',
      `cannot read ${groupFile} to resolve socket group "${group}": ${(error as Error).message}`,
    );
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new DaemonError('BAD_CONFIG', `socket group "${group}" does not exist`);
}

export class AccessPolicy {
  constructor(
    private readonly daemonUid: number,
    private readonly groupGid: number | undefined,
  ) {}

  get socketGid(): number | undefined {
    return this.groupGid;
  }

  allows(credentials: PeerCredentials): boolean {
    if (credentials.uid === 0 || credentials.uid === this.daemonUid) return true;
    if (this.groupGid === undefined) return false;
    if (credentials.gid === this.groupGid) return true;
    return readProcGroups(credentials.pid).includes(this.groupGid);
  }
}
