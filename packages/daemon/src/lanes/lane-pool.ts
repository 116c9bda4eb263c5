/**
 * Resource lanes: one worker per lockspace, started on its first resource operation and stopped
 * when idle (a resource lease needs no I/O while it is simply held). Running beside the renewal
 * lanes, a ballot's large reads or an acquire waiting for a dead owner never delay a renewal.
 * (Renewal lanes are placed by RenewalLanes.)
 */
import type { Logger } from '@leasehold/lease';
import { Lane } from './lane.js';
import type { ResourceCommand, ResourceNote } from './lane-messages.js';

export type ResourceLane = Lane<ResourceCommand, ResourceNote>;
export type { RenewalLane } from './renewal-lanes.js';

const RESOURCE_SCRIPT = new URL('./resource-worker.js', import.meta.url);

export interface ResourceLaneEvents {
  onResourceNote(lockspace: string, note: ResourceNote): void;
  onResourceLaneExit(lockspace: string, lane: ResourceLane): void;
}

export class ResourceLanes {
  constructor(
    private readonly logger: Logger,
    private readonly testFaultDir: string | undefined,
    private readonly logLevel: string,
    private readonly events: ResourceLaneEvents,
  ) {}

  start(lockspace: string): ResourceLane {
    const lane: ResourceLane = new Lane<ResourceCommand, ResourceNote>({
      kind: 'resource',
      laneKey: `resource-${lockspace}`,
      script: RESOURCE_SCRIPT,
      testFaultDir: this.testFaultDir,
      logLevel: this.logLevel,
      logger: this.logger,
      onNote: (note) => this.events.onResourceNote(lockspace, note),
      onExit: () => this.events.onResourceLaneExit(lockspace, lane),
    });
    return lane;
  }
}
