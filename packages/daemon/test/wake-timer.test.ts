/**
 * The shell's one timer: it keeps the earliest wake the host core asked for, never ticks before that
 * time (a timer that fires early is re-armed for the rest), and stops for good when closed.
 */
import type { Clock } from '@leasehold/lease';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WakeTimer } from '../src/lockspaces/wake-timer.js';

let nowSeconds = 0;
const clock: Clock = { nowSeconds: () => nowSeconds, sleep: () => Promise.resolve() };

function advance(seconds: number): void {
  nowSeconds += seconds;
  vi.advanceTimersByTime(seconds * 1000);
}

beforeEach(() => {
  vi.useFakeTimers();
  nowSeconds = 100;
});

afterEach(() => {
  vi.useRealTimers();
});

describe('WakeTimer', () => {
  it('ticks once at the earliest wake asked for', () => {
    const ticks: number[] = [];
    const timer = new WakeTimer(clock, () => ticks.push(nowSeconds));
    timer.wakeAt(110);
    timer.wakeAt(105);
    timer.wakeAt(120);
    advance(4);
    expect(ticks).toEqual([]);
    advance(1);
    expect(ticks).toEqual([105]);
    advance(30);
    expect(ticks).toEqual([105]);
  });

  it('asked again after a tick, it ticks again', () => {
    const ticks: number[] = [];
    const timer = new WakeTimer(clock, () => ticks.push(nowSeconds));
    timer.wakeAt(101);
    advance(1);
    timer.wakeAt(103);
    advance(2);
    expect(ticks).toEqual([101, 103]);
  });

  it('never ticks before the time asked for, even when its timer fires early', () => {
    const ticks: number[] = [];
    const timer = new WakeTimer(clock, () => ticks.push(nowSeconds));
    timer.wakeAt(110);
    // The timer fires at its delay while the clock lags by half a second.
    nowSeconds += 9.5;
    vi.advanceTimersByTime(10_000);
    expect(ticks).toEqual([]);
    advance(0.5);
    expect(ticks).toEqual([110]);
  });

  it('a wake in the past ticks at once; a closed timer never ticks', () => {
    const ticks: number[] = [];
    const timer = new WakeTimer(clock, () => ticks.push(nowSeconds));
    timer.wakeAt(50);
    vi.advanceTimersByTime(0);
    expect(ticks).toEqual([100]);
    timer.wakeAt(101);
    timer.close();
    timer.wakeAt(102);
    advance(5);
    expect(ticks).toEqual([100]);
  });
});
