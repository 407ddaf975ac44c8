/**
 * tmux 3.3a as the habit people compare to: a server holding the session, and a control-mode
 * client (`tmux -C attach`) that sends keys and receives `%output` notifications.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TermStream } from '../term-stream.js';

export function tmuxVersion(): string | null {
  const result = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

/** Unescapes tmux's octal escapes (`\\015`) in `%output` data. */
function unescapeOutput(text: string): string {
  return text.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export async function openTmux(cwd: string): Promise<TermStream & { socket: string }> {
  const socket = `tether-bench-${process.pid}-${Date.now().toString(36)}`;
  const created = spawnSync(
    'tmux',
    [
      '-L',
      socket,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      'bench',
      '-x',
      '80',
      '-y',
      '24',
      '-c',
      cwd,
      '/bin/sh',
    ],
    { encoding: 'utf8' },
  );
  if (created.status !== 0) throw new Error(`tmux new-session failed: ${created.stderr}`);
  const client: ChildProcessWithoutNullStreams = spawn(
    'tmux',
    ['-L', socket, '-C', 'attach', '-t', 'bench'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let buffered = '';
  let onAttached!: () => void;
  const attached = new Promise<void>((resolve) => (onAttached = resolve));
  const stream = {
    system: 'tmux',
    socket,
    // `send-keys -l` sends the text literally; control mode takes one command per line.
    write: (data: string) => {
      for (const part of data.split(/(\r)/)) {
        if (part === '') continue;
        if (part === '\r') client.stdin.write('send-keys -t bench Enter\n');
        else client.stdin.write(`send-keys -t bench -l '${part.replace(/'/g, `'\\''`)}'\n`);
      }
    },
    sink: (() => undefined) as TermStream['sink'],
    async close() {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
      if (client.exitCode === null) {
        await new Promise<void>((resolve) => client.once('exit', () => resolve()));
      }
      // tmux leaves its socket file behind: $TMUX_TMPDIR (or /tmp)/tmux-<uid>/<name>.
      const socketDir = join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
      rmSync(join(socketDir, socket), { force: true });
    },
  };
  client.stdout.setEncoding('utf8');
  client.stdout.on('data', (text: string) => {
    buffered += text;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.startsWith('%session-changed')) onAttached();
      const match = /^%output %\d+ (.*)$/.exec(line);
      if (match) stream.sink(unescapeOutput(match[1]!));
    }
  });
  // Keys sent before the client is attached can be lost; wait for its first notification.
  const timer = setTimeout(onAttached, 5000);
  await attached;
  clearTimeout(timer);
  return stream;
}
