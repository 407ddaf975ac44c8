export { spawnPtySession } from './spawn-pty-session.js';
export type { PtySpawnHooks } from './spawn-pty-session.js';
export { PtySession, DRAIN_FALLBACK_MS } from './pty-session.js';
export { ReplayBuffer } from './replay-buffer.js';
export { clampTerminalSize, MAX_COLS, MAX_ROWS, MIN_COLS, MIN_ROWS } from './size.js';
