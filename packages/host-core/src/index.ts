export * from './assert.js';
export * from './limits.js';
export * from './types.js';
export * from './host-id-choice.js';
export * from './kill-campaigns.js';
export * from './lease-book.js';
export * from './lockspace-machine.js';
export * from './host-core.js';
