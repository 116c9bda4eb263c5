import { expect } from 'vitest';
import { OnDiskError, type OnDiskErrorCode } from '../src/index.js';

/** Runs fn, expects an OnDiskError with `code`, and returns it for further checks. */
export function expectOnDiskError(fn: () => unknown, code: OnDiskErrorCode): OnDiskError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OnDiskError);
    const onDisk = error as OnDiskError;
    expect(onDisk.code, onDisk.message).toBe(code);
    return onDisk;
  }
  throw new Error(`expected OnDiskError ${code}, but nothing was thrown`);
}

/** Runs fn and fails unless it returns or throws an OnDiskError (never any other exception). */
export function onlyOnDiskErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof OnDiskError))
      throw new Error(`expected only OnDiskError, got ${String(error)}`, { cause: error });
  }
}
