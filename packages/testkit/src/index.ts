export * from './sanlock.js';
export * from './files.js';
export * from './lvm.js';
export * from './lvmlockd.js';
