import type { Logger } from './types.js';

/** A logger that drops everything: the default when an embedder passes none. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
