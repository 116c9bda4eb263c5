/**
 * `leasehold direct read-leader -s LS:HOSTID:PATH:OFFSET | -r LS:RES:PATH:OFFSET [--json]`
 * Prints the leader record's fields (sanlock's names), then verifies it: magic, version, names and
 * checksum. A record that fails verification is still printed, and the command exits non-zero.
 */
import type { CommandModule } from 'yargs';
import {
  decodeLeader,
  deltaSectorOffset,
  geometryFromLeader,
  hex32,
  verifyLeader,
  defaultGeometry,
  type LeaderRecord,
} from '@leasehold/ondisk';
import { parseLockspaceArg, parseResourceArg } from '../args.js';
import { usageError } from '../cli-error.js';
import { checkFits, openDevice } from '../device.js';
import { printJson, printLine } from '../output.js';

interface ReadLeaderArgs {
  s?: string;
  r?: string;
  json: boolean;
}

export function leaderFieldLines(leader: LeaderRecord, kind: 'delta' | 'paxos'): string[] {
  const [w1, w2, w3] =
    kind === 'delta' ? ['extra1', 'extra2', 'extra3'] : ['write_id', 'write_generation', 'write_timestamp'];
  return [
    `magic ${hex32(leader.magic)}`,
    `version ${hex32(leader.version)}`,
    `flags ${hex32(leader.flags)}`,
    `sector_size ${leader.sectorSize}`,
    `num_hosts ${leader.numHosts}`,
    `max_hosts ${leader.maxHosts}`,
    `owner_id ${leader.ownerId}`,
    `owner_generation ${leader.ownerGeneration}`,
    `lver ${leader.lver}`,
    `space_name ${leader.spaceName}`,
    `resource_name ${leader.resourceName}`,
    `timestamp ${leader.timestamp}`,
    `checksum ${hex32(leader.checksum)}`,
    `io_timeout ${leader.ioTimeoutSeconds}`,
    `${w1} ${leader.writeId}`,
    `${w2} ${leader.writeGeneration}`,
    `${w3} ${leader.writeTimestamp}`,
  ];
}

export const directReadLeaderCommand: CommandModule<object, ReadLeaderArgs> = {
  command: 'read-leader',
  aliases: ['read_leader'],
  describe: "print and verify a host's delta lease (-s) or a resource leader (-r)",
  builder: (y) =>
    y
      .option('s', { type: 'string', describe: 'lockspace LS:HOSTID:PATH:OFFSET' })
      .option('r', { type: 'string', describe: 'resource LS:RES:PATH:OFFSET' })
      .option('json', { type: 'boolean', default: false })
      .check((argv) => {
        if ((argv.s === undefined) === (argv.r === undefined))
          throw usageError('give exactly one of -s (a lockspace) or -r (a resource)');
        return true;
      }),
  handler: async (argv) => {
    const isDelta = argv.s !== undefined;
    const target = isDelta ? parseLockspaceArg(argv.s!, { allowZeroHostId: true }) : parseResourceArg(argv.r!);
    const disk = await openDevice(target.path, { write: false });
    try {
      // The area's own first sector says its geometry (sector size, align).
      const probeBytes = Math.max(disk.sectorSize, 4096);
      checkFits(disk, target.offsetBytes, probeBytes, 'the leader');
      const first = decodeLeader(await disk.read(target.offsetBytes, probeBytes), 0);
      let geometry = defaultGeometry(disk.sectorSize);
      try {
        geometry = geometryFromLeader(first.sectorSize, first.flags);
      } catch {
        // Not a leader: verification below reports what was found.
      }
      const hostId = 'hostId' in target && target.hostId > 0 ? target.hostId : 1;
      const offsetBytes = isDelta ? deltaSectorOffset(target.offsetBytes, hostId, geometry) : target.offsetBytes;
      const readBytes = Math.max(geometry.sectorSize, disk.sectorSize);
      checkFits(disk, offsetBytes, readBytes, 'the leader');
      const sector = await disk.read(offsetBytes, readBytes);
      const leader = decodeLeader(sector, 0);
      let verifyError: unknown;
      try {
        verifyLeader(sector, 0, {
          kind: isDelta ? 'delta' : 'paxos',
          offsetBytes,
          spaceName: target.spaceName,
          ...('resourceName' in target ? { resourceName: target.resourceName } : {}),
        });
      } catch (error) {
        verifyError = error;
      }
      if (argv.json) printJson({ offsetBytes, valid: verifyError === undefined, leader });
      else for (const line of leaderFieldLines(leader, isDelta ? 'delta' : 'paxos')) printLine(line);
      if (verifyError !== undefined) throw verifyError;
    } finally {
      await disk.close();
    }
  },
};
