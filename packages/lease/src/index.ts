export * from './clock.js';
export * from './timeouts.js';
