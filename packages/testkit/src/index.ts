export * from './sanlock.js';
export * from './files.js';
