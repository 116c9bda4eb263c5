export * from './sanlock.js';
export * from './files.js';
export * from './lvmlockd.js';
