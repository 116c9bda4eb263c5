import { describe, expect, it } from 'vitest';
import { holderText, holdersOf, waitingLine } from '../src/commands/waiting.js';

function recorder(isTTY: boolean): { isTTY: boolean; written: string[]; write(text: string): boolean } {
  const written: string[] = [];
  return { isTTY, written, write: (text: string) => written.push(text) > 0 };
}

describe('waiting that tells', () => {
  it('names the holder: host_id, name, mode, liveness; or the local process', () => {
    expect(holderText({ hostId: 2, hostName: 'node-b', mode: 'exclusive', state: 'LIVE' })).toBe(
      'host 2 "node-b" EX, LIVE (renewing)',
    );
    expect(holderText({ hostId: 7, mode: 'shared', state: 'FAIL' })).toBe('host 7 SH, FAIL (not renewing)');
    expect(holdersOf({ holder: 'pid 42' }).map(holderText)).toEqual(['pid 42 on this host']);
    expect(
      holdersOf({ holders: [{ hostId: 1, hostName: 'a', mode: 'EX', state: 'UNKNOWN' }] }).map(holderText),
    ).toEqual(['host 1 "a" EX, UNKNOWN (not watched long enough to tell)']);
    expect(holdersOf(undefined)).toEqual([]);
  });

  it('on a terminal one line is rewritten in place and cleared at the end', () => {
    const tty = recorder(true);
    const line = waitingLine(tty);
    line.show('waiting for LS:R (EX), held by host 2', 1.2, 30);
    line.show('waiting for LS:R (EX), held by host 3', 3.7, 30);
    line.done();
    expect(tty.written).toEqual([
      '\r\x1b[Kleasehold: waiting for LS:R (EX), held by host 2 ... 1/30 s',
      '\r\x1b[Kleasehold: waiting for LS:R (EX), held by host 3 ... 4/30 s',
      '\r\x1b[K',
    ]);
  });

  it('elsewhere one line, once', () => {
    const log = recorder(false);
    const line = waitingLine(log);
    line.show('waiting for LS:R (EX), held by host 2', 0, 30);
    line.show('waiting for LS:R (EX), held by host 3', 5, 30);
    line.done();
    expect(log.written).toEqual(['leasehold: waiting for LS:R (EX), held by host 2; waiting up to 30 s\n']);
  });
});
