/**
 * @tether/slash-worker: the per-session command worker. The parent side is
 * `spawnSlashWorker`; the child side is `runSlashWorker` in `@tether/slash-worker/child`.
 */
export { spawnSlashWorker, WORKER_CHILD_PATH, type SpawnWorkerHooks } from './worker-handle.js';
export type {
  Agent,
  AgentResult,
  AgentTurn,
  CommandContext,
  PluginCommand,
  PluginModule,
} from './plugins.js';
export type { PluginLoadError } from './protocol.js';
