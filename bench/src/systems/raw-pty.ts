/** The baseline for terminal I/O on this stack: node-pty in this process, no gateway. */
import * as pty from 'node-pty';
import type { TermStream } from '../term-stream.js';

export function openRawPty(cwd: string): TermStream {
  // `encoding: null` makes node-pty hand over raw Buffers, as the gateway's pty-bridge does.
  const child = pty.spawn('/bin/sh', [], {
    name: 'xterm-256color',
    cols: 80,
    rows: 24,
    cwd,
    env: { ...process.env, PS1: '$ ' } as Record<string, string>,
    encoding: null,
  } as pty.IPtyForkOptions);
  const stream: TermStream = {
    system: 'raw node-pty',
    write: (data) => child.write(data),
    sink: () => undefined,
    close: () =>
      new Promise<void>((resolve) => {
        child.onExit(() => resolve());
        child.kill('SIGKILL');
      }),
  };
  child.onData((data) => stream.sink(data as unknown as Buffer));
  return stream;
}
