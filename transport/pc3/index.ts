// PC3 transport (UE <-> ProSe Function, node <-> KMS enrollment): public API.
export * from './client.js';
export * from './enrollment.js';
export * from './framing.js';
export * from './messages.js';
export * from './metrics.js';
export * from './pki.js';
export * from './server.js';
