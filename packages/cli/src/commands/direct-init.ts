/**
 * `leasehold direct init -s LS:0:PATH:OFFSET | -r LS:RES:PATH:OFFSET [-Z ss] [-A align] [-o io] [-n hosts] [-z 1] [--force]`
 * Writes areas byte-identical to `sanlock direct init`. Refuses, unless --force, and says what it
 * found: an area that is not all zeroes, and anything on the device that is not a lease area of the
 * same lockspace and layout (file systems, partition tables, swap, LVM labels, other lockspaces),
 * as blkid/wipefs and our own readers see it. Initialising the areas of one lockspace one after
 * another (-s at 0, then -r at 1M, 2M, ...) is the normal workflow and needs no --force.
 */
import type { CommandModule } from 'yargs';
import { buildLockspaceArea, buildResourceArea, checkAreaOffset, MAX_HOST_ID } from '@leasehold/ondisk';
import { MAX_IO_TIMEOUT_SECONDS } from '@leasehold/lease';
import { parseLockspaceArg, parseResourceArg } from '../args.js';
import { CliError, EXIT_USAGE, usageError } from '../cli-error.js';
import { areaContentText, describeArea } from '../describe-area.js';
import { checkFits, openDevice } from '../device.js';
import { describeSignatures, probeSignatures, type FoundSignature } from '@leasehold/disk';
import type { Geometry } from '@leasehold/ondisk';
import { chooseGeometry, geometryText } from '../geometry-options.js';
import { printError, printLine } from '../output.js';
import { realClock } from '../real-clock.js';
import { diskTimestamp } from '@leasehold/lease';

interface InitArgs {
  s?: string;
  r?: string;
  Z?: number;
  A?: string;
  o: number;
  n?: number;
  z: number;
  force: boolean;
}

export const directInitCommand: CommandModule<object, InitArgs> = {
  command: 'init',
  describe: 'initialize a lockspace (-s) or a resource lease (-r) area',
  builder: (y) =>
    y
      .option('s', { type: 'string', describe: 'lockspace LS:0:PATH:OFFSET' })
      .option('r', { type: 'string', describe: 'resource LS:RES:PATH:OFFSET' })
      .option('Z', { type: 'number', describe: 'sector size 512|4096 (default: from the device)' })
      .option('A', { type: 'string', describe: 'align size 1M|2M|4M|8M (default: 1M for 512, 8M for 4096)' })
      .option('o', { type: 'number', default: 10, describe: 'io_timeout seconds written into delta leases' })
      .option('n', { type: 'number', describe: 'num_hosts of a resource (default: max)' })
      .option('z', { type: 'number', default: 0, describe: '1: write the cleared (invalidated) form of a resource' })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite whatever the area holds' })
      .check((argv) => {
        if ((argv.s === undefined) === (argv.r === undefined))
          throw usageError('give exactly one of -s (a lockspace) or -r (a resource)');
        return true;
      }),
  handler: async (argv) => {
    if (!Number.isInteger(argv.o) || argv.o < 1 || argv.o > MAX_IO_TIMEOUT_SECONDS) {
      throw new CliError('BAD_ARGUMENT', `-o must be 1-${MAX_IO_TIMEOUT_SECONDS} seconds, got ${argv.o}`, EXIT_USAGE);
    }
    if (argv.n !== undefined && (!Number.isInteger(argv.n) || argv.n < 0 || argv.n > MAX_HOST_ID)) {
      throw new CliError('BAD_ARGUMENT', `-n must be 0-${MAX_HOST_ID}, got ${argv.n}`, EXIT_USAGE);
    }
    const target =
      argv.s !== undefined ? parseLockspaceArg(argv.s, { allowZeroHostId: true }) : parseResourceArg(argv.r!);
    const disk = await openDevice(target.path, { write: true });
    try {
      const geometry = chooseGeometry({ sectorSize: argv.Z, align: argv.A }, disk.sectorSize);
      try {
        checkAreaOffset(target.offsetBytes, geometry);
      } catch (error) {
        throw new CliError('BAD_OFFSET', (error as Error).message, EXIT_USAGE);
      }
      checkFits(disk, target.offsetBytes, geometry.alignBytes, 'the area');
      const existing = describeArea(await disk.read(target.offsetBytes, geometry.alignBytes), target.offsetBytes);
      // A lease area right here is reported as such (AREA_NOT_EMPTY); other things anywhere on the device next.
      if (existing.kind === 'zero' || existing.kind === 'data')
        await refuseForeignSignatures(target, geometry, argv.force);
      if (existing.kind !== 'zero') {
        const found = areaContentText(existing);
        if (!argv.force) {
          throw new CliError(
            'AREA_NOT_EMPTY',
            `${target.path} at offset ${target.offsetBytes} holds ${found}; not overwriting it`,
          );
        }
        printError(`leasehold: overwriting ${found} at ${target.path}:${target.offsetBytes} (--force)`);
      }
      if ('resourceName' in target) {
        const image = buildResourceArea({
          spaceName: target.spaceName,
          resourceName: target.resourceName,
          geometry,
          ...(argv.n !== undefined ? { numHosts: argv.n } : {}),
          ...(argv.z === 1 ? { clearWriteTimestamp: diskTimestamp(realClock) } : {}),
        });
        await disk.write(target.offsetBytes, image);
        printLine(
          `${argv.z === 1 ? 'cleared' : 'initialized'} resource ${target.spaceName}:${target.resourceName} at ${target.path}:${target.offsetBytes} (${geometryText(geometry)})`,
        );
      } else {
        const image = buildLockspaceArea({ spaceName: target.spaceName, geometry, ioTimeoutSeconds: argv.o });
        // Two writes, as sanlock: the area with sector 0 invalid, then sector 0 as the commit,
        // so a crash in between never leaves a half-written area that looks valid.
        const uncommitted = image.slice();
        uncommitted.fill(0, 0, 4);
        await disk.write(target.offsetBytes, uncommitted);
        await disk.write(target.offsetBytes, image.subarray(0, geometry.sectorSize));
        printLine(
          `initialized lockspace ${target.spaceName} at ${target.path}:${target.offsetBytes} (${geometryText(geometry)}, io_timeout ${argv.o})`,
        );
      }
    } finally {
      await disk.close();
    }
  },
};

/** Lease areas of the lockspace being laid out (same name, same geometry) belong here; nothing else does. */
function isOwnLayout(signature: FoundSignature, spaceName: string, geometry: Geometry): boolean {
  return (
    (signature.kind === 'sanlock-lockspace' || signature.kind === 'sanlock-resource') &&
    signature.spaceName === spaceName &&
    signature.sectorSize === geometry.sectorSize &&
    signature.alignBytes === geometry.alignBytes
  );
}

async function refuseForeignSignatures(
  target: { path: string; spaceName: string; offsetBytes: number },
  geometry: Geometry,
  force: boolean,
): Promise<void> {
  let found: FoundSignature[];
  try {
    found = await probeSignatures(target.path);
  } catch (error) {
    if (!force) throw error;
    printError(
      `leasehold: could not check ${target.path} for signatures (${(error as Error).message}); going on (--force)`,
    );
    return;
  }
  const foreign = found.filter((signature) => !isOwnLayout(signature, target.spaceName, geometry));
  if (foreign.length === 0) return;
  const what = describeSignatures(foreign);
  if (!force) {
    throw new CliError(
      'FOREIGN_SIGNATURE',
      `${target.path} carries ${what}; not writing a lease area at ${target.offsetBytes}`,
    );
  }
  printError(
    `leasehold: writing a lease area at ${target.offsetBytes} of ${target.path}, which carries ${what} (--force)`,
  );
}
