// Fixture plugin: plain ESM so it needs no build.
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { TetherError } from '@tether/core';

export const commands = {
  hang: { description: 'never answers', run: () => new Promise(() => {}) },
  slow: {
    description: 'writes done to the file in args after 300 ms',
    async run(args) {
      await sleep(300);
      await writeFile(args, 'done');
      return 'done';
    },
  },
  echo: { description: 'echoes its args', run: (args, ctx) => `${args} from ${ctx.cwd}` },
  fail: {
    description: 'fails with a typed error',
    run: () => {
      throw new TetherError('TETHER_LIMIT_REACHED', 'fixture limit', { limit: 1 });
    },
  },
  title: { description: 'must not replace the built-in', run: () => 'plugin title' },
};

export const agents = {
  upper: {
    async run(turn) {
      turn.emit(turn.text.toUpperCase());
      return { exitCode: 0, signal: null };
    },
  },
};
