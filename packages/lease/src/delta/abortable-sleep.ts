/** Sleeping through the injected Clock, cut short by an AbortSignal. */
import type { Clock } from '../clock.js';

/** Resolves true after `seconds`, or false as soon as `signal` aborts (the clock may cancel its timer then). */
export function sleepUnlessAborted(clock: Clock, seconds: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal === undefined) return clock.sleep(seconds).then(() => true);
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    clock.sleep(seconds, signal).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      },
      () => {
        // Rejected: the clock cancelled the timer because we aborted; otherwise count it as elapsed.
        signal.removeEventListener('abort', onAbort);
        resolve(!signal.aborted);
      },
    );
  });
}
