export * from './limits';
export * from './errors';
export * from './framing';
export * from './json-bounds';
export * from './signaling';
export * from './stun';
export * from './rooms';
export * from './comfort-noise';
