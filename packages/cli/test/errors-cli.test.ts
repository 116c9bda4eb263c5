/**
 * Issue 14 "Must show": every error path through the real CLI (built, spawned as a user runs it)
 * gives its catalogue code, its exit status, one line without a stack trace, and leaves the image
 * byte for byte as it was. Also: a reader that goes away (`| head -1`) ends the command quietly.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, exitStatusOf, runExitStatusOf, type ErrorCode } from '@leasehold/errors';
import {
  buildLockspaceArea,
  buildResourceArea,
  decodeLeader,
  defaultGeometry,
  encodeLeader,
  LEADER_FIELD_OFFSETS,
  MIB,
} from '@leasehold/ondisk';
import { makeTempImage, type TempImage } from '@leasehold/testkit';
import { CLI_PATH, runCli, spawnCli } from './run-cli.js';

const IMAGE_BYTES = 8 * MIB;
const GEOMETRY = defaultGeometry(512);
/** Lockspace "LS" at 0, resource "LS:R1" at 1M, "LS:R2" at 2M (checksum broken), zeroes from 3M. */
let image: TempImage;
const NO_SOCKET = '/nonexistent-leasehold-dir/leasehold.sock';

function layOut(path: string): void {
  const bytes = Buffer.alloc(IMAGE_BYTES);
  Buffer.from(buildLockspaceArea({ spaceName: 'LS', geometry: GEOMETRY, ioTimeoutSeconds: 10 })).copy(bytes, 0);
  Buffer.from(buildResourceArea({ spaceName: 'LS', resourceName: 'R1', geometry: GEOMETRY })).copy(bytes, MIB);
  Buffer.from(buildResourceArea({ spaceName: 'LS', resourceName: 'R2', geometry: GEOMETRY })).copy(bytes, 2 * MIB);
  bytes.writeUInt8(bytes.readUInt8(2 * MIB + LEADER_FIELD_OFFSETS.lver) ^ 0x01, 2 * MIB + LEADER_FIELD_OFFSETS.lver); // covered by the checksum, not a name: damaged
  writeFileSync(path, bytes);
}

beforeAll(() => {
  image = makeTempImage(IMAGE_BYTES);
  layOut(image.path);
});
afterAll(() => {
  image.cleanup();
});

interface ErrorCase {
  name: string;
  args: (img: string) => string[];
  code: ErrorCode;
  /** Default: the catalogue's status for the code. */
  status?: number;
  /** Words the message must contain. */
  says?: RegExp;
}

const CASES: ErrorCase[] = [
  {
    name: 'direct init with neither -s nor -r',
    args: () => ['direct', 'init'],
    code: 'BAD_ARGUMENT',
    says: /exactly one of -s/,
  },
  {
    name: 'direct init with both -s and -r',
    args: (p) => ['direct', 'init', '-s', `LS:0:${p}:3M`, '-r', `LS:R:${p}:4M`],
    code: 'BAD_ARGUMENT',
  },
  { name: 'an unknown command', args: () => ['frobnicate'], code: 'BAD_ARGUMENT' },
  {
    name: 'a name of 50 UTF-8 bytes',
    args: (p) => ['direct', 'init', '-s', `${'é'.repeat(25)}:0:${p}:3M`],
    code: 'NAME_TOO_LONG',
    says: /50 bytes in UTF-8/,
  },
  {
    name: 'an offset off the align size',
    args: (p) => ['direct', 'init', '-r', `LS:R9:${p}:4096`],
    code: 'BAD_OFFSET',
  },
  {
    name: 'a geometry sanlock does not have',
    args: (p) => ['direct', 'init', '-s', `LS:0:${p}:0`, '-Z', '512', '-A', '8M'],
    code: 'BAD_GEOMETRY',
  },
  { name: 'an area past the end', args: (p) => ['direct', 'init', '-r', `LS:R9:${p}:8M`], code: 'DEVICE_TOO_SMALL' },
  {
    name: 'a device that does not exist',
    args: (p) => ['direct', 'dump', join(p, 'missing')],
    code: 'DEVICE_OPEN',
    says: /ENOTDIR|ENOENT/,
  },
  {
    name: 'init over a lockspace',
    args: (p) => ['direct', 'init', '-r', `LS:R9:${p}:0`],
    code: 'AREA_NOT_EMPTY',
    says: /lockspace "LS"/,
  },
  {
    name: 'init of another lockspace beside this one',
    args: (p) => ['direct', 'init', '-s', `LS2:0:${p}:4M`],
    code: 'FOREIGN_SIGNATURE',
    says: /sanlock lockspace "LS" at 0/,
  },
  {
    name: 'read-leader where nothing was initialised',
    args: (p) => ['direct', 'read-leader', '-r', `LS:R1:${p}:3M`],
    code: 'NOT_INITIALIZED',
  },
  {
    name: 'read-leader -r of a lockspace',
    args: (p) => ['direct', 'read-leader', '-r', `LS:R1:${p}:0`],
    code: 'WRONG_KIND',
    says: /delta leader/,
  },
  {
    name: 'read-leader -s of a resource',
    args: (p) => ['direct', 'read-leader', '-s', `LS:1:${p}:1M`],
    code: 'WRONG_KIND',
    says: /paxos leader/,
  },
  {
    name: 'read-leader with another resource name',
    args: (p) => ['direct', 'read-leader', '-r', `LS:R7:${p}:1M`],
    code: 'WRONG_NAME',
    says: /found "R1"/,
  },
  {
    name: 'read-leader with another lockspace name',
    args: (p) => ['direct', 'read-leader', '-r', `XX:R1:${p}:1M`],
    code: 'WRONG_NAME',
    says: /found "LS"/,
  },
  {
    name: 'read-leader of a damaged leader',
    args: (p) => ['direct', 'read-leader', '-r', `LS:R2:${p}:2M`],
    code: 'DAMAGED',
    says: /checksum/,
  },
  {
    name: 'direct join off the align size (found by the lease layer)',
    args: (p) => ['direct', 'join', '-s', `LS:1:${p}:4096`, '-o', '1'],
    code: 'BAD_OFFSET',
  },
  {
    name: 'direct hosts where nothing was initialised',
    args: (p) => ['direct', 'hosts', '-s', `LS:${p}:3M`],
    code: 'NOT_INITIALIZED',
  },
  { name: 'direct dump past the end', args: (p) => ['direct', 'dump', `${p}:9M`], code: 'BAD_OFFSET' },
  {
    name: 'a daemon whose state directory cannot be made',
    args: (p) => ['daemon', '--watchdog', 'none', '--socket', NO_SOCKET, '--state-dir', join(p, 'state')],
    code: 'IO_ERROR',
    says: /ENOTDIR/,
  },
  {
    name: 'a daemon whose config file is missing',
    args: (p) => ['daemon', '--config', join(p, 'leasehold.conf')],
    code: 'BAD_CONFIG',
  },
  { name: 'status without a daemon', args: () => ['status', '--socket', NO_SOCKET], code: 'NO_DAEMON' },
  {
    name: 'run without a command',
    args: (p) => ['run', '-r', `LS:R1:${p}:1M`],
    code: 'BAD_ARGUMENT',
    status: runExitStatusOf('BAD_ARGUMENT'),
  },
  {
    name: 'run without a daemon',
    args: (p) => ['run', '--socket', NO_SOCKET, '-r', `LS:R1:${p}:1M`, '--', 'true'],
    code: 'NO_DAEMON',
    status: runExitStatusOf('NO_DAEMON'),
  },
  {
    name: 'direct run in a lockspace that is not there',
    args: (p) => ['direct', 'run', '-s', `LS:1:${p}:3M`, '-r', `LS:R1:${p}:1M`, '-o', '1', '--', 'true'],
    code: 'NOT_INITIALIZED',
    status: runExitStatusOf('NOT_INITIALIZED'),
  },
];

describe('every error path through the real CLI', () => {
  it.each(CASES)('$name: $code', ({ args, code, status, says }) => {
    const before = readFileSync(image.path);
    // A path inside the image "directory" gives ENOTDIR without touching anything.
    const result = runCli(args(image.path));
    expect(result.status).toBe(status ?? exitStatusOf(code));
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line).toMatch(new RegExp(`^leasehold: ${code}: `));
    expect(line.endsWith(`(${ERROR_CATALOGUE[code].hint})`)).toBe(true);
    expect(result.stderr).not.toMatch(/\n\s+at |Error: /);
    if (says !== undefined) expect(line).toMatch(says);
    expect(Buffer.compare(before, readFileSync(image.path))).toBe(0);
  });
});

describe('a reader that goes away ends the command quietly', () => {
  let busy: TempImage;
  beforeAll(() => {
    // Every one of the 2000 host slots owned once: thousands of lines, far more than a pipe holds.
    busy = makeTempImage(2 * MIB);
    const area = buildLockspaceArea({ spaceName: 'BIG', geometry: GEOMETRY, ioTimeoutSeconds: 10 });
    for (let hostId = 1; hostId <= GEOMETRY.maxHosts; hostId++) {
      const at = (hostId - 1) * GEOMETRY.sectorSize;
      const leader = decodeLeader(area, at);
      encodeLeader(
        { ...leader, ownerId: BigInt(hostId), ownerGeneration: 1n, timestamp: 1000n, resourceName: `host-${hostId}` },
        area,
        at,
      );
    }
    writeFileSync(busy.path, area);
  });
  afterAll(() => busy.cleanup());

  it.each([
    ['direct dump', (p: string) => `direct dump ${p}`],
    ['direct dump --json', (p: string) => `direct dump --json ${p}`],
    ['direct hosts', (p: string) => `direct hosts -s BIG:${p}:0`],
    ['direct read-leader', (p: string) => `direct read-leader -s BIG:1:${p}:0`],
  ] as const)('%s | head -1', (_name, command) => {
    const script = `set -o pipefail; "${process.execPath}" "${CLI_PATH}" ${command(busy.path)} | head -1`;
    const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n').filter((line) => line !== '')).toHaveLength(1);
    // The status a tool killed by SIGPIPE has (141), or 0 when it finished writing before head left.
    expect([0, 141]).toContain(result.status);
  });
});

describe('daemon logs', () => {
  it('--log-format pretty: one readable line per entry, an expected OS error without a stack', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'leasehold-pretty-'));
    try {
      const daemon = spawnCli([
        'daemon',
        '--log-format',
        'pretty',
        '--socket',
        join(stateDir, 'd.sock'),
        '--state-dir',
        join(stateDir, 'state'),
        '--watchdog-socket',
        join(stateDir, 'missing.sock'),
      ]);
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        daemon.stderr?.on('data', (data: Buffer) => {
          stderr += data.toString();
          if (stderr.includes('daemon serving')) resolve();
        });
        daemon.on('exit', () => reject(new Error(`the daemon exited: ${stderr}`)));
      });
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.on('exit', resolve));
      const lines = stderr.split('\n').filter((line) => line !== '');
      expect(lines[0]).toMatch(
        /^\[\d{4}-\d\d-\d\d [\d:.]+\] ERROR \(leasehold-daemon\/\d+\): the watchdog companion is not reachable/,
      );
      expect(lines[1]).toMatch(/^\s+err: \{"type":"Error","message":"connect ENOENT [^"]*","code":"ENOENT"\}$/);
      expect(lines.some((line) => /INFO \(leasehold-daemon\/\d+\): daemon serving/.test(line))).toBe(true);
      expect(stderr).not.toMatch(/\n\s+at |^\{/m);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
