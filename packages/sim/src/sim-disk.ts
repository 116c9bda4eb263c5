import { checkIo, type Disk, DiskError } from '@leasehold/disk';
import type { SimHost, InflightIo } from './host.js';
import {
  anyTornWrites,
  drawFailure,
  drawLatencySeconds,
  drawStaleAgeSeconds,
  firstHung,
  type IoFaults,
} from './io-faults.js';
import type { SharedDisk } from './shared-disk.js';
import type { SimWorld } from './world.js';

/** A torn write lands in at most this many pieces (each a run of whole sectors). */
const MAX_TORN_PIECES = 4;
/** Chance that a write reaching a hung path waits for the hang to lift instead of landing on time. */
const HUNG_WRITE_WAITS_PROBABILITY = 0.5;
/** Chance that a write still in flight when its host crashes lands anyway (per piece). */
const CRASH_WRITE_LANDS_PROBABILITY = 0.5;
/** Ways a failing (EIO) write may have touched the disk before reporting the error. */
const FAILED_WRITE_OUTCOMES = ['none', 'all', 'partial'] as const;

type PieceState = 'pending' | 'landed' | 'dropped';

interface WritePiece {
  offsetBytes: number;
  data: Uint8Array;
  state: PieceState;
}

/**
 * One host incarnation's Disk over a SharedDisk. Each I/O is planned when issued (latency, failure,
 * tearing) and then takes effect at a chosen moment inside its latency: a read samples the shared
 * bytes at that moment, a write lands then. The caller hears back at the end of the latency,
 * through the host's gate (so never after a crash, and only after a pause ends).
 */
export class SimDisk implements Disk {
  readonly path: string;
  readonly sectorSize: number;
  readonly sizeBytes: number;
  private closed = false;

  constructor(
    private readonly world: SimWorld,
    private readonly host: SimHost,
    private readonly incarnation: number,
    private readonly shared: SharedDisk,
  ) {
    this.path = shared.name;
    this.sectorSize = shared.sectorSize;
    this.sizeBytes = shared.sizeBytes;
  }

  private get who(): string {
    return `${this.host.machine}#${this.incarnation}`;
  }

  private get paths(): readonly IoFaults[] {
    return [this.host.ioFaults, this.shared.ioFaults];
  }

  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    const refused = this.refuse(offsetBytes, lengthBytes);
    if (refused !== undefined) return Promise.reject(refused);
    const { world, paths } = this;
    const random = world.random;
    const issuedAtSeconds = world.nowSeconds;
    const latencySeconds = drawLatencySeconds(random, paths);
    const effectDelaySeconds = latencySeconds * random.next();
    const fails = drawFailure(random, paths);
    const staleAgeSeconds = drawStaleAgeSeconds(random, paths);
    const opId = world.newOpId();
    const what = `read ${offsetBytes}+${lengthBytes} (op ${opId})`;

    return new Promise<Uint8Array>((resolve, reject) => {
      let data: Uint8Array | undefined;
      let sampledAtSeconds = issuedAtSeconds;
      let effectSequence = -1;
      const sample = (): void => {
        if (data !== undefined || fails) return;
        sampledAtSeconds = world.nowSeconds;
        effectSequence = this.shared.nextEffectSequence();
        data =
          staleAgeSeconds > 0
            ? this.shared.readAsOf(offsetBytes, lengthBytes, world.nowSeconds - staleAgeSeconds)
            : this.shared.peek(offsetBytes, lengthBytes);
      };
      const io: InflightIo = { onCrash: () => undefined };
      this.host.trackIo(io);
      world.after(effectDelaySeconds, `${this.who} ${what} sampled`, sample);
      const complete = (): void => {
        const hung = firstHung(paths);
        if (hung !== undefined) {
          hung.park(complete);
          return;
        }
        this.host.untrackIo(io);
        sample();
        this.host.deliver(this.incarnation, () => {
          const elapsed = world.nowSeconds - issuedAtSeconds;
          if (data === undefined) {
            this.note(() => `${what} EIO after ${elapsed.toFixed(3)}s`);
            reject(new DiskError('EIO', 'simulated I/O error', this.path, offsetBytes, lengthBytes));
          } else {
            this.note(
              () =>
                `${what} ok after ${elapsed.toFixed(3)}s${staleAgeSeconds > 0 ? ` (stale by ${staleAgeSeconds.toFixed(3)}s)` : ''}`,
            );
            this.shared.reportRead({
              opId,
              reader: this.who,
              offsetBytes,
              lengthBytes,
              issuedAtSeconds,
              sampledAtSeconds,
              effectSequence,
              deliveredAtSeconds: world.nowSeconds,
            });
            resolve(data);
          }
        });
      };
      world.after(latencySeconds, `${this.who} ${what} done`, complete);
    });
  }

  write(offsetBytes: number, data: Uint8Array): Promise<void> {
    const refused = this.refuse(offsetBytes, data.byteLength);
    if (refused !== undefined) return Promise.reject(refused);
    const { world, paths } = this;
    const random = world.random;
    const issuedAtSeconds = world.nowSeconds;
    const latencySeconds = drawLatencySeconds(random, paths);
    const fails = drawFailure(random, paths);
    const opId = world.newOpId();
    const what = `write ${offsetBytes}+${data.byteLength} (op ${opId})`;
    // The device reads the caller's buffer while the I/O is in flight; a copy pins what was asked.
    const pieces = this.splitIntoPieces(offsetBytes, data.slice());
    if (fails) this.chooseWhatAFailedWriteLeaves(pieces);

    return new Promise<void>((resolve, reject) => {
      const land = (piece: WritePiece): void => {
        if (piece.state !== 'pending') return;
        piece.state = 'landed';
        const whole = piece.data.byteLength === data.byteLength;
        this.shared.land({
          opId,
          writer: this.who,
          offsetBytes: piece.offsetBytes,
          data: piece.data,
          issuedAtSeconds,
          landedAtSeconds: world.nowSeconds,
          whole,
        });
        this.note(() => `  ${what} landed${whole ? '' : ` piece ${piece.offsetBytes}+${piece.data.byteLength}`}`);
      };
      const io: InflightIo = {
        onCrash: () => {
          for (const piece of pieces) {
            if (piece.state !== 'pending') continue;
            if (random.chance(CRASH_WRITE_LANDS_PROBABILITY)) land(piece);
            else piece.state = 'dropped';
          }
        },
      };
      this.host.trackIo(io);
      for (const piece of pieces) {
        world.after(latencySeconds * random.next(), `${this.who} ${what} lands`, () => {
          const hung = firstHung(paths);
          if (hung !== undefined && random.chance(HUNG_WRITE_WAITS_PROBABILITY)) hung.park(() => land(piece));
          else land(piece);
        });
      }
      const complete = (): void => {
        const hung = firstHung(paths);
        if (hung !== undefined) {
          hung.park(complete);
          return;
        }
        this.host.untrackIo(io);
        // Completion never comes before the data is on the disk, whatever order ties ran in.
        for (const piece of pieces) land(piece);
        this.host.deliver(this.incarnation, () => {
          const elapsed = world.nowSeconds - issuedAtSeconds;
          if (fails) {
            this.note(
              () =>
                `${what} EIO after ${elapsed.toFixed(3)}s (${pieces.filter((piece) => piece.state === 'landed').length}/${pieces.length} pieces landed)`,
            );
            reject(new DiskError('EIO', 'simulated I/O error', this.path, offsetBytes, data.byteLength));
          } else {
            this.note(() => `${what} ok after ${elapsed.toFixed(3)}s`);
            resolve();
          }
        });
      };
      world.after(latencySeconds, `${this.who} ${what} done`, complete);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private refuse(offsetBytes: number, lengthBytes: number): DiskError | undefined {
    if (this.closed) return new DiskError('ECLOSED', 'disk is closed', this.path, offsetBytes, lengthBytes);
    try {
      checkIo(this, offsetBytes, lengthBytes);
      return undefined;
    } catch (error) {
      if (error instanceof DiskError) return error;
      throw error;
    }
  }

  /** One piece, or (tearing on, several sectors) up to MAX_TORN_PIECES runs of sectors. */
  private splitIntoPieces(offsetBytes: number, data: Uint8Array): WritePiece[] {
    const sectors = data.byteLength / this.sectorSize;
    if (sectors < 2 || !anyTornWrites(this.paths)) return [{ offsetBytes, data, state: 'pending' }];
    const random = this.world.random;
    const pieceCount = random.integer(2, Math.min(MAX_TORN_PIECES, sectors));
    const cuts = new Set<number>();
    while (cuts.size < pieceCount - 1) cuts.add(random.integer(1, sectors - 1));
    const bounds = [0, ...[...cuts].sort((x, y) => x - y), sectors];
    const pieces: WritePiece[] = [];
    for (let index = 0; index + 1 < bounds.length; index++) {
      const startBytes = (bounds[index] as number) * this.sectorSize;
      const endBytes = (bounds[index + 1] as number) * this.sectorSize;
      pieces.push({
        offsetBytes: offsetBytes + startBytes,
        data: data.subarray(startBytes, endBytes),
        state: 'pending',
      });
    }
    return pieces;
  }

  private chooseWhatAFailedWriteLeaves(pieces: WritePiece[]): void {
    const random = this.world.random;
    const outcome = random.pick(FAILED_WRITE_OUTCOMES);
    for (const piece of pieces) {
      const keep = outcome === 'all' || (outcome === 'partial' && random.chance(0.5));
      if (!keep) piece.state = 'dropped';
    }
  }

  private note(text: () => string): void {
    this.world.trace.note(this.who, this.world.nowSeconds, text);
  }
}
