#!/usr/bin/env node
/**
 * `pnpm soak --count N --seed S`: runs the life-cycle soak and prints its figures.
 * `pnpm soak --mass-teardown N`: measures event-loop lag while N sessions close at once.
 * Exit 1 when an invariant failed, 2 on bad arguments.
 */
import { runMassTeardown } from './mass-teardown.js';
import { formatReport } from './report.js';
import { runSoak } from './soak.js';

const USAGE = `usage: pnpm soak [--count N] [--seed S] [--time-limit-s T] [--check-every K]
                 [--max-sessions M] [--no-store-hiccup] [--json]
       pnpm soak --mass-teardown N`;

interface Args {
  count: number;
  seed: number;
  timeLimitS: number;
  checkEvery: number;
  maxSessions: number;
  storeHiccup: boolean;
  json: boolean;
  massTeardown: number | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    count: 1000,
    seed: Date.now() % 1_000_000,
    timeLimitS: 3600,
    checkEvery: 10,
    maxSessions: 10,
    storeHiccup: true,
    json: false,
    massTeardown: null,
  };
  const numeric: Record<string, [keyof Args, number, number]> = {
    '--count': ['count', 1, 1_000_000],
    '--seed': ['seed', 0, 2 ** 32 - 1],
    '--time-limit-s': ['timeLimitS', 1, 86_400],
    '--check-every': ['checkEvery', 1, 100_000],
    '--max-sessions': ['maxSessions', 1, 200],
    '--mass-teardown': ['massTeardown', 1, 1000],
  };
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index]!;
    if (flag === '--') continue;
    if (flag === '--no-store-hiccup') args.storeHiccup = false;
    else if (flag === '--json') args.json = true;
    else if (flag === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (numeric[flag]) {
      const [key, min, max] = numeric[flag]!;
      const value = Number(argv[++index]);
      if (!Number.isInteger(value) || value < min || value > max) {
        process.stderr.write(`soak: ${flag} needs an integer from ${min} to ${max}\n${USAGE}\n`);
        process.exit(2);
      }
      (args as unknown as Record<string, number>)[key] = value;
    } else {
      process.stderr.write(`soak: unknown argument "${flag}"\n${USAGE}\n`);
      process.exit(2);
    }
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const progress = (line: string) => process.stderr.write(`soak: ${line}\n`);
  if (args.massTeardown !== null) {
    const result = await runMassTeardown({ sessions: args.massTeardown, onProgress: progress });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exitCode = result.passed ? 0 : 1;
    return;
  }
  progress(`seed ${args.seed}, ${args.count} operations`);
  const report = await runSoak({
    count: args.count,
    seed: args.seed,
    timeLimitS: args.timeLimitS,
    checkEvery: args.checkEvery,
    maxSessions: args.maxSessions,
    storeHiccup: args.storeHiccup,
    onProgress: progress,
  });
  process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  process.exitCode = report.passed ? 0 : 1;
}

void main().catch((error: unknown) => {
  process.stderr.write(`soak: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
