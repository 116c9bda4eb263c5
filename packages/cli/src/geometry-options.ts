/** Chooses the sector/align geometry from -Z/-A and the device, like sanlock does. */
import { defaultGeometry, geometryFor, parseAlignSize, MIB, type Geometry } from '@leasehold/ondisk';
import { CliError, EXIT_USAGE } from './cli-error.js';

export interface GeometryFlags {
  sectorSize?: number | undefined;
  align?: string | undefined;
}

export function chooseGeometry(flags: GeometryFlags, deviceSectorSize: number): Geometry {
  let geometry: Geometry;
  try {
    if (flags.sectorSize === undefined && flags.align === undefined) {
      geometry = defaultGeometry(deviceSectorSize);
    } else {
      const sectorSize =
        flags.sectorSize ??
        (deviceSectorSize === 4096
          ? 4096
          : flags.align !== undefined && parseAlignSize(flags.align) !== MIB
            ? 4096
            : 512);
      const alignBytes =
        flags.align !== undefined ? parseAlignSize(flags.align) : defaultGeometry(sectorSize).alignBytes;
      geometry = geometryFor(sectorSize, alignBytes);
    }
  } catch (error) {
    throw new CliError('BAD_GEOMETRY', (error as Error).message, EXIT_USAGE);
  }
  if (geometry.sectorSize < deviceSectorSize) {
    throw new CliError(
      'BAD_GEOMETRY',
      `sector size ${geometry.sectorSize} is smaller than the device's logical sector size ${deviceSectorSize}; use -Z 4096`,
      EXIT_USAGE,
    );
  }
  return geometry;
}

export function geometryText(geometry: Geometry): string {
  return `${geometry.sectorSize}/${geometry.alignBytes / MIB}M, ${geometry.maxHosts} hosts`;
}
