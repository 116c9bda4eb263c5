/** The writer identity of a real command: what lvm puts in the footer of each metadata copy. */
import { hostname, machine, release, type, version } from 'node:os';
import type { WriterIdentity } from './commit.js';

const MS_PER_SECOND = 1000;

/** `description = "Write from <command line>."`, this host's uname, the current time and time zone. */
export function commandIdentity(commandLine: readonly string[], now: Date = new Date()): WriterIdentity {
  const node = hostname();
  return {
    description: `Write from ${commandLine.join(' ')}.`,
    hostName: node,
    unameText: `${type()} ${node} ${release()} ${version()} ${machine()}`,
    nowSeconds: Math.floor(now.getTime() / MS_PER_SECOND),
    tzOffsetMinutes: -now.getTimezoneOffset(),
  };
}
