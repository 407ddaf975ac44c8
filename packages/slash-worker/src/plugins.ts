/**
 * Plugin modules: extra slash commands and agents, loaded by dynamic import when the worker
 * starts. A module that fails to load is reported, never fatal.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SlashResult } from '@tether/core';
import type { PluginLoadError } from './protocol.js';

/** What a command sees of the worker. */
export interface CommandContext {
  sessionId: string;
  /** The worker's current directory for turns (changed by `/cd`). */
  cwd: string;
  /** Environment additions for later turns (set by `/env KEY=VALUE`). */
  env: Readonly<Record<string, string>>;
  /** Aborts when the worker shuts down; a command should then finish quickly. */
  signal: AbortSignal;
}

/** A slash command contributed by a plugin: `/name args`. */
export interface PluginCommand {
  /** One line, shown by `/help`. */
  description: string;
  run(args: string, ctx: CommandContext): string | SlashResult | Promise<string | SlashResult>;
}

/** One turn as an agent receives it. */
export interface AgentTurn {
  turnId: string;
  text: string;
  cwd: string;
  /** Full environment for the turn's processes, its own process marker included. */
  env: Record<string, string>;
  /**
   * Aborts with reason `'interrupt'` (stop gracefully) or `'kill'` (the worker is going away:
   * stop now). Either way the worker then kills every process carrying the turn's marker.
   */
  signal: AbortSignal;
  /** Streams UTF-8 output to the session; ignored after the turn ended. */
  emit(data: string): void;
}

export interface AgentResult {
  exitCode: number | null;
  signal: string | null;
}

/** Something that runs turns, such as the built-in `shell` agent. */
export interface Agent {
  run(turn: AgentTurn): Promise<AgentResult>;
}

/** The shape of a plugin module. */
export interface PluginModule {
  commands?: Record<string, PluginCommand>;
  agents?: Record<string, Agent>;
}

export interface LoadedCommand extends PluginCommand {
  source: string;
}

export interface LoadedPlugins {
  commands: Map<string, LoadedCommand>;
  agents: Map<string, Agent>;
  errors: PluginLoadError[];
}

function toSpecifier(path: string): string {
  if (path.startsWith('file:')) return path;
  if (isAbsolute(path)) return pathToFileURL(path).href;
  throw new Error('plugin path must be absolute or a file: URL');
}

function isCommand(value: unknown): value is PluginCommand {
  const command = value as PluginCommand | null;
  return typeof command === 'object' && command !== null && typeof command.run === 'function';
}

function isAgent(value: unknown): value is Agent {
  const agent = value as Agent | null;
  return typeof agent === 'object' && agent !== null && typeof agent.run === 'function';
}

/** Imports every plugin in order; a later plugin never replaces an earlier name. */
export async function loadPlugins(paths: readonly string[]): Promise<LoadedPlugins> {
  const loaded: LoadedPlugins = { commands: new Map(), agents: new Map(), errors: [] };
  for (const path of paths) {
    try {
      const plugin = (await import(toSpecifier(path))) as PluginModule;
      for (const [name, command] of Object.entries(plugin.commands ?? {})) {
        if (!isCommand(command)) throw new Error(`command ${name} has no run function`);
        if (loaded.commands.has(name)) continue;
        // Bound, not spread: a class-based command keeps its prototype methods and `this`.
        loaded.commands.set(name, {
          description: String(command.description ?? ''),
          run: (args, ctx) => command.run(args, ctx),
          source: path,
        });
      }
      for (const [name, agent] of Object.entries(plugin.agents ?? {})) {
        if (!isAgent(agent)) throw new Error(`agent ${name} has no run function`);
        if (!loaded.agents.has(name)) loaded.agents.set(name, agent);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      loaded.errors.push({ path, message });
    }
  }
  return loaded;
}
