/** Workloads 1 and 2, the same for every system: output throughput and keystroke echo. */
import { writeFile } from 'node:fs/promises';
import { markerCommand, waitForMarker, enterRawCat, type TermStream } from '../term-stream.js';

/** A text file of `bytes` bytes in 100-byte lines, as a `cat` workload. */
export async function writePayload(path: string, bytes: number): Promise<void> {
  const line = `${'0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3).slice(0, 99)}\n`;
  const block = line.repeat(10_000);
  const blocks = Math.ceil(bytes / block.length);
  await writeFile(path, block.repeat(blocks).slice(0, bytes));
}

/** Waits until the shell answers, so a measurement starts at an idle prompt. */
export async function syncShell(stream: TermStream, timeoutMs = 10_000): Promise<void> {
  const sync = markerCommand(`SYNC${Math.random().toString(36).slice(2, 6).toUpperCase()}`);
  const waiting = waitForMarker(stream, sync.marker, timeoutMs);
  stream.write(`${sync.command}\r`);
  await waiting;
}

/** MB/s (10^6 bytes) of `cat <file>` from typing the command to the marker after the last byte. */
export async function catThroughput(
  stream: TermStream,
  file: string,
  fileBytes: number,
  timeoutMs: number,
): Promise<number> {
  await syncShell(stream);
  const done = markerCommand('CATDONE');
  const started = performance.now();
  const waiting = waitForMarker(stream, done.marker, timeoutMs, started);
  stream.write(`cat ${file}; ${done.command}\r`);
  const { ms } = await waiting;
  return fileBytes / 1e6 / (ms / 1000);
}

/**
 * Round trips (ms) of single keys through `stty raw -echo; cat`, one key in flight at a time,
 * after `warmupKeys` untimed ones: a JIT runtime (Node's V8) compiles its hot paths during the
 * first thousands of keys, and a long-lived server is measured in the state its users meet.
 */
export async function echoRoundTrips(
  stream: TermStream,
  keys: number,
  warmupKeys = 0,
): Promise<number[]> {
  await enterRawCat(stream);
  await timeKeys(stream, warmupKeys);
  const samples = await timeKeys(stream, keys);
  stream.sink = () => undefined;
  return samples;
}

async function timeKeys(stream: TermStream, keys: number): Promise<number[]> {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const samples: number[] = [];
  for (let index = 0; index < keys; index += 1) {
    const key = letters[index % letters.length]!;
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${stream.system}: key ${index} not echoed`)),
        5000,
      );
      stream.sink = (chunk) => {
        if (chunk.indexOf(key) === -1) return;
        clearTimeout(timer);
        resolve();
      };
      stream.write(key);
    });
    samples.push(performance.now() - started);
  }
  return samples;
}
