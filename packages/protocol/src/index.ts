/**
 * @leasehold/protocol: the daemon's client protocol (types, limits, codes, framing, validation), with
 * no daemon code, so a client program never loads SQLite or the daemon. The companion protocol is at
 * '@leasehold/protocol/companion', the shared socket-file helper at '@leasehold/protocol/socket-file'.
 */
export * from './limits.js';
export * from './codes.js';
export * from './messages.js';
export * from './activation.js';
export * from './framing.js';
export { OPS, requestIdOf, validateRequest } from './validate.js';
