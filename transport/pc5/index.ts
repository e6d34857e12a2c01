// PC5 transport: frame codec, medium contract, UDP loopback medium, and the multicast environment.
export * from './frame.js';
export * from './medium.js';
export * from './netenv.js';
export * from './udp-medium.js';
