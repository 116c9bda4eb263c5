/** The daemon's client protocol: types, limits, codes, framing and validation (no daemon code). */
export * from './limits.js';
export * from './codes.js';
export * from './messages.js';
export * from './framing.js';
export { OPS, requestIdOf, validateRequest } from './validate.js';
