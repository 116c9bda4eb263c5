export * from './layout.js';
export * from './lock-args.js';
export * from './value-block.js';
export * from './initial.js';
