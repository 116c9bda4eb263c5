/**
 * Every event in every state of a lockspace: the transition it makes, the actions it emits, or its
 * rejection (an InvariantError: the event cannot happen in that state, and the core refuses to guess).
 */
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../src/assert.js';
import type { HostAction, HostEvent } from '../src/types.js';
import { CLIENT, IO_TIMEOUT, joinOk, lockstart, newCore, ofType } from './support.js';

type StateName =
  | 'starting:prepare'
  | 'starting:resume'
  | 'starting:old-holders'
  | 'starting:join'
  | 'starting:register'
  | 'joined'
  | 'joined+lease'
  | 'stopping'
  | 'lost'
  | 'stopped(failed)';

/** A core with lockspace "ls" in the named state. */
function coreIn(state: StateName): ReturnType<typeof newCore> {
  const env = newCore();
  const { step, clock } = env;
  if (state === 'starting:resume' || state === 'starting:old-holders') {
    const resumable = state === 'starting:resume';
    step({
      type: 'state_loaded',
      lockspaces: [
        {
          name: 'ls',
          path: '/dev/x',
          offsetBytes: 0,
          hostIdRequest: 3,
          hostId: 3,
          generation: 2n,
          state: resumable ? 'joined' : 'lost',
        },
      ],
      leases: [{ lockspace: 'ls', resource: 'r', mode: 'EX', holder: CLIENT, token: 't' }],
      sameBoot: true,
    });
    step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
    return env;
  }
  step(lockstart());
  if (state === 'starting:prepare') return env;
  step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
  if (state === 'starting:join') return env;
  if (state === 'stopped(failed)') {
    step({ type: 'join_result', name: 'ls', result: { ok: false, error: { code: 'IO_ERROR', message: 'eio' } } });
    return env;
  }
  step(joinOk(clock.now));
  if (state === 'starting:register') return env;
  step({ type: 'companion_ack', name: 'ls', step: 'add', ok: true });
  if (state === 'joined') return env;
  if (state === 'joined+lease' || state === 'lost') {
    step({ type: 'acquire', reqId: 9, lockspace: 'ls', resource: 'r', mode: 'EX', holder: CLIENT });
    step({ type: 'acquire_result', lockspace: 'ls', resource: 'r', result: { ok: true, token: 't' } });
    if (state === 'joined+lease') return env;
    clock.now += 8 * IO_TIMEOUT;
    step({ type: 'expiry_tick' });
    return env;
  }
  step({ type: 'lockstop', reqId: 2, name: 'ls' });
  return env;
}

const EVENTS: Record<string, HostEvent> = {
  state_loaded: { type: 'state_loaded', lockspaces: [], leases: [], sameBoot: true },
  lockstart: lockstart(20),
  lockstop: { type: 'lockstop', reqId: 21, name: 'ls' },
  'companion_ack prepare': { type: 'companion_ack', name: 'ls', step: 'prepare', ok: true },
  'companion_ack add': { type: 'companion_ack', name: 'ls', step: 'add', ok: true },
  'companion_ack add refused': { type: 'companion_ack', name: 'ls', step: 'add', ok: false, message: 'no' },
  join_result: joinOk(1000),
  'renewal ok': { type: 'renewal_result', name: 'ls', result: { ok: true, lastRenewalSeconds: 1001 } },
  'renewal lost': {
    type: 'renewal_result',
    name: 'ls',
    result: { ok: false, error: { code: 'RENEW_OWNER', message: 'gone' } },
  },
  leave_done: { type: 'leave_done', name: 'ls' },
  expiry_tick: { type: 'expiry_tick' },
  acquire: { type: 'acquire', reqId: 22, lockspace: 'ls', resource: 'q', mode: 'SH', holder: CLIENT },
  acquire_result: { type: 'acquire_result', lockspace: 'ls', resource: 'q', result: { ok: true, token: 'x' } },
  cancel_acquire: { type: 'cancel_acquire', lockspace: 'ls', resource: 'q' },
  convert: { type: 'convert', reqId: 24, lockspace: 'ls', resource: 'r', mode: 'SH', holder: CLIENT },
  convert_result: {
    type: 'convert_result',
    lockspace: 'ls',
    resource: 'r',
    result: { ok: true, token: 'c', mode: 'SH' },
  },
  update_token: { type: 'update_token', reqId: 25, lockspace: 'ls', resource: 'r', holder: CLIENT, token: 'u' },
  release: { type: 'release', reqId: 23, lockspace: 'ls', resource: 'r', holder: CLIENT },
  release_result: { type: 'release_result', lockspace: 'ls', resource: 'r' },
  client_exit: { type: 'client_exit', pid: CLIENT.kind === 'process' ? CLIENT.pid : 0, startTime: 7n },
  kill_done: { type: 'kill_done', name: 'ls', holder: CLIENT },
  shutdown: { type: 'shutdown' },
};

type Outcome = 'illegal' | ((result: { actions: HostAction[]; kind: string | undefined }) => void);

const replyOf = (actions: HostAction[], reqId: number) =>
  ofType(actions, 'reply').find((a) => a.reply.reqId === reqId)?.reply;

/** What each event does in each state; anything not listed must leave the state as it was. */
const EXPECTED: Partial<Record<StateName, Partial<Record<keyof typeof EVENTS, Outcome>>>> = {
  'starting:prepare': {
    state_loaded: 'illegal',
    join_result: 'illegal',
    'companion_ack prepare': ({ actions }) =>
      expect(ofType(actions, 'lane')[0]?.command).toMatchObject({ type: 'join', hostId: 3 }),
    lockstop: ({ kind }) => expect(kind).toBe('starting'),
    acquire: ({ actions }) =>
      expect(replyOf(actions, 22)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_STARTING' } }),
  },
  'starting:resume': {
    state_loaded: 'illegal',
    join_result: ({ actions, kind }) => {
      expect(kind).toBe('starting');
      expect(ofType(actions, 'watchdog')[0]?.message).toMatchObject({ type: 'add' });
    },
    // Leases recorded as held before the restart: busy, as a joined lockspace with leases is.
    lockstop: ({ actions, kind }) => {
      expect(kind).toBe('starting');
      expect(replyOf(actions, 21)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_BUSY' } });
    },
    release: ({ actions }) =>
      expect(replyOf(actions, 23)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_STARTING' } }),
    convert: ({ actions }) =>
      expect(replyOf(actions, 24)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_STARTING' } }),
    update_token: ({ actions }) =>
      expect(replyOf(actions, 25)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_STARTING' } }),
  },
  'starting:old-holders': {
    state_loaded: 'illegal',
    join_result: 'illegal',
    // The old generation's holder is gone: only now is a new generation joined.
    client_exit: ({ actions }) =>
      expect(ofType(actions, 'lane')[0]?.command).toMatchObject({ type: 'join', hostId: 3 }),
    kill_done: ({ actions }) => expect(ofType(actions, 'lane')[0]?.command).toMatchObject({ type: 'join', hostId: 3 }),
    lockstop: ({ kind, actions }) => {
      expect(kind).toBe('starting');
      expect(ofType(actions, 'lane')).toEqual([]);
    },
    release: ({ actions }) =>
      expect(replyOf(actions, 23)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_STARTING' } }),
  },
  'starting:join': {
    state_loaded: 'illegal',
    join_result: ({ actions, kind }) => {
      expect(kind).toBe('starting');
      expect(ofType(actions, 'watchdog')[0]?.message).toMatchObject({
        type: 'add',
        expiresAtSeconds: 1000 + 8 * IO_TIMEOUT,
      });
    },
    lockstop: ({ actions }) => expect(ofType(actions, 'lane')[0]?.command).toEqual({ type: 'cancel_join', name: 'ls' }),
  },
  'starting:register': {
    state_loaded: 'illegal',
    join_result: 'illegal',
    'companion_ack add': ({ actions, kind }) => {
      expect(kind).toBe('joined');
      expect(replyOf(actions, 1)).toMatchObject({ ok: true, value: { state: 'joined' } });
    },
    'companion_ack add refused': ({ actions, kind }) => {
      expect(kind).toBe('stopped');
      expect(ofType(actions, 'lane')[0]?.command).toEqual({ type: 'leave', name: 'ls' });
      expect(replyOf(actions, 1)).toMatchObject({ ok: false, error: { code: 'WATCHDOG_UNAVAILABLE' } });
    },
    acquire: ({ actions }) =>
      expect(replyOf(actions, 22)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_STARTING' } }),
  },
  joined: {
    state_loaded: 'illegal',
    join_result: 'illegal',
    lockstop: ({ actions, kind }) => {
      expect(kind).toBe('stopping');
      // The companion is told before the (possibly hanging) leave.
      const types = actions
        .filter((a) => a.type === 'watchdog' || a.type === 'lane')
        .map((a) => (a.type === 'watchdog' ? `wd:${a.message.type}` : `lane:${a.command.type}`));
      expect(types).toEqual(['wd:remove', 'lane:leave']);
    },
    'renewal ok': ({ actions }) =>
      expect(ofType(actions, 'watchdog')[0]?.message).toEqual({
        type: 'renew',
        name: 'ls',
        expiresAtSeconds: 1001 + 8 * IO_TIMEOUT,
      }),
    'renewal lost': ({ kind, actions }) => {
      expect(kind).toBe('lost');
      // No leases: lost, and at once clean (nothing to kill), so the companion may drop it.
      expect(ofType(actions, 'watchdog').map((a) => a.message.type)).toEqual(['lost', 'remove']);
    },
    acquire: ({ actions }) =>
      expect(ofType(actions, 'lane')[0]?.command).toEqual({
        type: 'acquire',
        lockspace: 'ls',
        resource: 'q',
        mode: 'SH',
      }),
    release: ({ actions }) => expect(replyOf(actions, 23)).toMatchObject({ ok: false, error: { code: 'NOT_HELD' } }),
    convert: ({ actions }) => expect(replyOf(actions, 24)).toMatchObject({ ok: false, error: { code: 'NOT_HELD' } }),
    update_token: ({ actions }) =>
      expect(replyOf(actions, 25)).toMatchObject({ ok: false, error: { code: 'NOT_HELD' } }),
    shutdown: ({ kind }) => expect(kind).toBe('stopping'),
  },
  'joined+lease': {
    state_loaded: 'illegal',
    join_result: 'illegal',
    lockstop: ({ actions, kind }) => {
      expect(kind).toBe('joined');
      expect(replyOf(actions, 21)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_BUSY' } });
    },
    release: ({ actions }) =>
      expect(ofType(actions, 'lane')[0]?.command).toEqual({
        type: 'release',
        lockspace: 'ls',
        resource: 'r',
        token: 't',
      }),
    client_exit: ({ actions }) =>
      expect(ofType(actions, 'lane')[0]?.command).toMatchObject({ type: 'release', resource: 'r' }),
    convert: ({ actions }) =>
      expect(ofType(actions, 'lane')[0]?.command).toEqual({
        type: 'convert',
        lockspace: 'ls',
        resource: 'r',
        mode: 'SH',
        token: 't',
      }),
    update_token: ({ actions }) => {
      expect(ofType(actions, 'state')[0]?.change).toMatchObject({
        type: 'put_lease',
        row: { resource: 'r', token: 'u' },
      });
      expect(replyOf(actions, 25)).toMatchObject({ ok: true, value: { kind: 'updated' } });
    },
    'renewal lost': ({ kind, actions }) => {
      expect(kind).toBe('lost');
      expect(ofType(actions, 'kill')[0]).toMatchObject({ signal: 'term', holders: [CLIENT] });
    },
    shutdown: ({ kind }) => expect(kind).toBe('joined'),
  },
  stopping: {
    state_loaded: 'illegal',
    join_result: 'illegal',
    leave_done: ({ actions, kind }) => {
      expect(kind).toBeUndefined();
      expect(replyOf(actions, 2)).toMatchObject({ ok: true, value: { state: 'stopped' } });
    },
    lockstart: ({ actions }) =>
      expect(replyOf(actions, 20)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_STOPPING' } }),
    acquire: ({ actions }) =>
      expect(replyOf(actions, 22)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_STOPPING' } }),
  },
  lost: {
    state_loaded: 'illegal',
    join_result: 'illegal',
    lockstop: ({ kind, actions }) => {
      expect(kind).toBeUndefined();
      expect(replyOf(actions, 21)).toMatchObject({ ok: true });
    },
    lockstart: ({ kind, actions }) => {
      // A new generation waits until the old one's holders are gone: only the companion is asked.
      expect(kind).toBe('starting');
      expect(ofType(actions, 'lane')).toEqual([]);
    },
    kill_done: ({ actions }) => expect(ofType(actions, 'watchdog')[0]?.message).toEqual({ type: 'remove', name: 'ls' }),
    client_exit: ({ actions }) =>
      expect(ofType(actions, 'watchdog')[0]?.message).toEqual({ type: 'remove', name: 'ls' }),
    acquire: ({ actions }) =>
      expect(replyOf(actions, 22)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_LOST' } }),
    // The loss dropped the lease from the book: nothing of it may be converted or changed.
    convert: ({ actions }) => expect(replyOf(actions, 24)).toMatchObject({ ok: false, error: { code: 'NOT_HELD' } }),
    update_token: ({ actions }) =>
      expect(replyOf(actions, 25)).toMatchObject({ ok: false, error: { code: 'NOT_HELD' } }),
  },
  'stopped(failed)': {
    state_loaded: 'illegal',
    join_result: 'illegal',
    lockstart: ({ kind }) => expect(kind).toBe('starting'),
    lockstop: ({ kind }) => expect(kind).toBeUndefined(),
    acquire: ({ actions }) =>
      expect(replyOf(actions, 22)).toMatchObject({ ok: false, error: { code: 'NO_LOCKSPACE' } }),
  },
};

const STATES: StateName[] = [
  'starting:prepare',
  'starting:resume',
  'starting:old-holders',
  'starting:join',
  'starting:register',
  'joined',
  'joined+lease',
  'stopping',
  'lost',
  'stopped(failed)',
];

describe('host core: every event in every state', () => {
  for (const state of STATES) {
    for (const [eventName, event] of Object.entries(EVENTS)) {
      const outcome = EXPECTED[state]?.[eventName];
      it(`${state} + ${eventName}${outcome === 'illegal' ? ' is rejected' : ''}`, () => {
        const { core } = coreIn(state);
        const before = core.lockspace('ls')?.kind;
        expect(before === undefined ? undefined : before).toBe(
          state.startsWith('starting')
            ? 'starting'
            : state === 'joined+lease'
              ? 'joined'
              : state === 'stopped(failed)'
                ? 'stopped'
                : state,
        );
        if (outcome === 'illegal') {
          expect(() => core.step(event)).toThrow(InvariantError);
          return;
        }
        const actions = core.step(event);
        const kind = core.lockspace('ls')?.kind;
        if (outcome === undefined) {
          // Not a transition of this state: the state stays (a shutdown, tick or late answer changes nothing here).
          expect(kind).toBe(before);
        } else {
          outcome({ actions, kind });
        }
      });
    }
  }
});
