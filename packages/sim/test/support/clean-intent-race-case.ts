/**
 * The whole-host schedule that found the clean-intent race (hosts-restarts, seed 1576080040, path
 * 3049): h1's daemon dies mid-acquire of r1 at 5.0 s; the restarted daemon gives that acquire back
 * (clean_intent) while a client of h1 acquires r1, both ballots under host_id 1; the give-back's
 * release then frees the lease the client was granted, and h2 takes r1 at 7.06 s (owned twice).
 * Kept as fast-check printed it, so the fixed-bug test replays exactly that world.
 */
import type { HostScenario } from '@leasehold/sim';

export const CLEAN_INTENT_RACE_CASE: HostScenario = {
  seed: 1764378599,
  ioTimeoutSeconds: 1,
  watchdogFireTimeoutSeconds: 6,
  killGraceSeconds: 2,
  companionLatencySeconds: 0.3,
  maxIoLatencySeconds: 0.2,
  durationSeconds: 40,
  machines: [
    {
      machine: 'h1',
      hostId: 1,
      clients: [
        {
          startAtSeconds: 5.984360551452311,
          stubborn: true,
          ops: [
            {
              resource: 'r1',
              mode: 'EX',
              holdSeconds: 1.7611822269435886,
              gapSeconds: 5.026641270776243e-9,
              crash: false,
            },
            {
              resource: 'r1',
              mode: 'SH',
              holdSeconds: 0.5465231546166297,
              gapSeconds: 1.452533885263958e-129,
              crash: false,
            },
            {
              resource: 'r2',
              mode: 'SH',
              holdSeconds: 4.245346871331469,
              gapSeconds: 2.3709470068771106e-150,
              crash: false,
            },
          ],
        },
        {
          startAtSeconds: 14.796078865937044,
          stubborn: false,
          ops: [
            {
              resource: 'r2',
              mode: 'EX',
              holdSeconds: 7.82383714843192,
              gapSeconds: 1.4188832840572602e-292,
              crash: false,
            },
          ],
        },
        {
          startAtSeconds: 4.322459633077346,
          stubborn: true,
          ops: [
            {
              resource: 'r2',
              mode: 'EX',
              holdSeconds: 7.146605590041256,
              gapSeconds: 2.0986415873118472e-305,
              crash: false,
            },
            {
              resource: 'r1',
              mode: 'EX',
              holdSeconds: 12.206109097891506,
              gapSeconds: 2.2502381996365463e-302,
              crash: false,
            },
            {
              resource: 'r1',
              mode: 'SH',
              holdSeconds: 15.99277653763878,
              gapSeconds: 1.3298334004347442e-81,
              crash: true,
            },
            {
              resource: 'r2',
              mode: 'EX',
              holdSeconds: 20.794179470983938,
              gapSeconds: 4.416676971844995e-109,
              crash: false,
            },
          ],
        },
      ],
      persistent: {
        atSeconds: 15.227975384795165,
        holdSeconds: 39.9999999999999,
      },
      killCommand: false,
    },
    {
      machine: 'h2',
      hostId: 2,
      clients: [
        {
          startAtSeconds: 6.302806262873993,
          stubborn: true,
          ops: [
            {
              resource: 'r1',
              mode: 'SH',
              holdSeconds: 1.1585102541657237,
              gapSeconds: 1.1169545289525006e-223,
              crash: true,
            },
            {
              resource: 'r1',
              mode: 'EX',
              holdSeconds: 20.909329002676994,
              gapSeconds: 1.552919740426096e-155,
              crash: true,
            },
            {
              resource: 'r1',
              mode: 'SH',
              holdSeconds: 6.177308211037026,
              gapSeconds: 2.902737910046454e-176,
              crash: true,
            },
          ],
        },
        {
          startAtSeconds: 4.007953717972713,
          stubborn: false,
          ops: [
            {
              resource: 'r2',
              mode: 'SH',
              holdSeconds: 9.21102790826578,
              gapSeconds: 9.995442186496566e-255,
              crash: true,
            },
            {
              resource: 'r1',
              mode: 'SH',
              holdSeconds: 1.0966389456960874,
              gapSeconds: 1.9809833949013873e-81,
              crash: false,
            },
            {
              resource: 'r2',
              mode: 'EX',
              holdSeconds: 0.6567117369412127,
              gapSeconds: 1.0685357849135455e-21,
              crash: true,
            },
          ],
        },
      ],
      persistent: undefined,
      killCommand: true,
    },
    {
      machine: 'h3',
      hostId: 3,
      clients: [
        {
          startAtSeconds: 19.999999999999968,
          stubborn: true,
          ops: [
            {
              resource: 'r2',
              mode: 'EX',
              holdSeconds: 3.018912747702612,
              gapSeconds: 1.9933655032123705e-257,
              crash: false,
            },
            {
              resource: 'r1',
              mode: 'EX',
              holdSeconds: 0.5290883749711492,
              gapSeconds: 2.7109925508184837e-216,
              crash: true,
            },
          ],
        },
        {
          startAtSeconds: 12.050349440514909,
          stubborn: true,
          ops: [
            {
              resource: 'r1',
              mode: 'SH',
              holdSeconds: 1.5231158228847572,
              gapSeconds: 3.441508434506749e-225,
              crash: true,
            },
            {
              resource: 'r1',
              mode: 'SH',
              holdSeconds: 3.9162355965189963,
              gapSeconds: 7.545956899732161e-49,
              crash: true,
            },
          ],
        },
        {
          startAtSeconds: 11.459508466966522,
          stubborn: true,
          ops: [
            {
              resource: 'r2',
              mode: 'EX',
              holdSeconds: 24.99999999999995,
              gapSeconds: 5e-324,
              crash: true,
            },
          ],
        },
      ],
      persistent: {
        atSeconds: 10.385377842090826,
        holdSeconds: 24.470969951007024,
      },
      killCommand: true,
    },
  ],
  faults: [
    {
      kind: 'daemon-crash',
      machine: 'h1',
      atSeconds: 5.005726964496627,
      restartAfterSeconds: 0.23417298682758195,
    },
    {
      kind: 'lockstop',
      machine: 'h3',
      atSeconds: 7.030235670189178,
      restartAfterSeconds: 12.869838325456394,
    },
    {
      kind: 'lockstop',
      machine: 'h3',
      atSeconds: 15.79926754506052,
      restartAfterSeconds: 3.0475767671588136,
    },
  ],
};
