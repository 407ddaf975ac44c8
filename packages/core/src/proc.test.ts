import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { leakCheck, uniqueMarker, waitFor, markedProcesses } from '@tether/test-utils';
import { describe, expect, it } from 'vitest';
import {
  deprioritize,
  findProcesses,
  listProcStats,
  parseProcStat,
  pacedWake,
  reapProcesses,
  WAKES_PER_STEP,
} from './proc.js';

describe('parseProcStat', () => {
  it('parses a command name holding spaces and parentheses', () => {
    const stat = parseProcStat(
      '123 (a b) c)) S 1 123 123 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0',
    );
    expect(stat).toMatchObject({
      pid: 123,
      ppid: 1,
      pgrp: 123,
      sid: 123,
      state: 'S',
      startTime: 98765,
    });
  });
});

describe('listProcStats', () => {
  it('shares one /proc scan between callers that arrive while another is under way', async () => {
    const running = listProcStats();
    const [second, third] = await Promise.all([listProcStats(), listProcStats()]);
    expect(second).toBe(third);
    expect(second).not.toBe(await running);
    expect(second.some((stat) => stat.pid === process.pid)).toBe(true);
    const later = await listProcStats();
    expect(later).not.toBe(second);
  });

  it('never answers with a scan that began before the caller asked', async () => {
    // The scan under way may have listed /proc already; a process forked since must be seen.
    for (let round = 0; round < 20; round += 1) {
      const earlier = listProcStats();
      await new Promise((resolve) => setTimeout(resolve, round % 5));
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const result = await reapProcesses({ rootPids: [child.pid!] }, { killGraceMs: 100 });
      expect(result.signalled, `round ${round}`).toContain(child.pid);
      await exited;
      await earlier;
    }
  });
});

describe('reapProcesses', () => {
  it('kills escapees found by marker: background, nohup, setsid and TERM/HUP-ignoring children', async () => {
    const marker = uniqueMarker('proc');
    const script = [
      'sleep 600 &',
      'nohup sleep 600 >/dev/null 2>&1 &',
      'setsid sleep 600 &',
      `sh -c 'trap "" HUP TERM; sleep 600' &`,
      'wait',
    ].join('\n');
    const child = spawn('sh', ['-c', script], {
      env: { ...process.env, TETHER_SESSION_ID: marker },
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await waitFor(async () => (await markedProcesses('TETHER_SESSION_ID', marker)).length >= 6, {
      what: 'all escapees started',
    });

    const query = { markers: [{ key: 'TETHER_SESSION_ID', value: marker }] };
    const result = await reapProcesses(query, { killGraceMs: 200 });
    await exited;

    expect(result.survivors).toEqual([]);
    expect(result.killed.length).toBeGreaterThan(0);
    expect(await findProcesses(query)).toEqual([]);
    const leaks = await leakCheck({ markerKey: 'TETHER_SESSION_ID', markerValue: marker });
    expect(leaks).toEqual({ marked: [], zombies: [] });
  });
});

describe('pacedWake', () => {
  it('runs every task once, in order, a few per event-loop turn, past one that throws', async () => {
    // A macrotask ticker: tasks that ran in one synchronous step share a turn number.
    let turn = 0;
    let isTicking = true;
    const tick = () => {
      turn += 1;
      if (isTicking) setImmediate(tick);
    };
    tick();
    const turns: number[] = [];
    const order: number[] = [];
    const count = 50;
    const resolved: number[] = [];
    let done!: () => void;
    const allDone = new Promise<void>((resolve) => (done = resolve));
    const promises: Array<Promise<void>> = [];
    for (let index = 0; index < count; index += 1) {
      const ran = pacedWake(() => {
        turns.push(turn);
        order.push(index);
        if (index === 7) throw new Error('a failed wake-up');
        if (index === count - 1) done();
      });
      // Each promise settles once its own task has run, the throwing one included.
      promises.push(ran.then(() => void resolved.push(index)));
    }
    expect(turns).toEqual([]);
    await allDone;
    await Promise.all(promises);
    expect(resolved).toEqual(order);
    isTicking = false;
    expect(order).toEqual(Array.from({ length: count }, (_, index) => index));
    const perTurn = new Map<number, number>();
    for (const at of turns) perTurn.set(at, (perTurn.get(at) ?? 0) + 1);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(WAKES_PER_STEP);
    expect(perTurn.size).toBeGreaterThanOrEqual(Math.ceil(count / WAKES_PER_STEP));
    expect([...turns].sort((a, b) => a - b)).toEqual(turns);
  });
});

describe('deprioritize', () => {
  const autogroupOf = (pid: number | 'self') => {
    try {
      return readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim();
    } catch {
      return null;
    }
  };

  it("lowers a dying process and its own session's group to nice 19, never the caller's", async () => {
    const marker = uniqueMarker('nice');
    const env = { ...process.env, TETHER_SESSION_ID: marker };
    const leader = spawn('sleep', ['600'], { env, stdio: 'ignore', detached: true });
    const sameGroup = spawn('sleep', ['600'], { env, stdio: 'ignore' });
    const ownGroupBefore = autogroupOf('self');
    try {
      deprioritize(leader.pid!);
      deprioritize(sameGroup.pid!);
      expect(getPriority(leader.pid!)).toBe(19);
      expect(getPriority(sameGroup.pid!)).toBe(19);
      if (ownGroupBefore !== null) {
        expect(autogroupOf(leader.pid!)).toMatch(/ nice 19$/);
        expect(autogroupOf('self')).toBe(ownGroupBefore);
      }
      expect(getPriority(process.pid)).not.toBe(19);
      // A pid that is gone is skipped without an error.
      expect(() => deprioritize(2 ** 22 + 7)).not.toThrow();
    } finally {
      await reapProcesses(
        { markers: [{ key: 'TETHER_SESSION_ID', value: marker }] },
        { killGraceMs: 0 },
      );
    }
    const leaks = await leakCheck({ markerKey: 'TETHER_SESSION_ID', markerValue: marker });
    expect(leaks.marked).toEqual([]);
  });
});
