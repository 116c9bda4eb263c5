/** @leasehold/watchdog: the watchdog companion, its devices, and the test watchdog device and cluster. */
export * from './errors.js';
export * from './timing.js';
