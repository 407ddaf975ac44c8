export * from './types.js';
export * from './errors.js';
export * from './clock.js';
export * from './proc.js';
