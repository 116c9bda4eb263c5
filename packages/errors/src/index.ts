export * from './catalogue.js';
export * from './classify.js';
export * from './exit-status.js';
export * from './format.js';
export * from './render-docs.js';
