// Seeded generator of malformed JSON-RPC frames; every frame it yields must get an error reply.

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function malformedFrames(seed: number, count: number): string[] {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const junkString = (maxLength: number) => {
    let text = '';
    const length = int(maxLength);
    for (let i = 0; i < length; i += 1) text += String.fromCharCode(int(0x3000));
    return text;
  };
  const junkValue = (depth = 0): unknown => {
    switch (int(depth > 2 ? 5 : 7)) {
      case 0:
        return null;
      case 1:
        return random() * 1e6 - 5e5;
      case 2:
        return junkString(20);
      case 3:
        return random() < 0.5;
      case 4:
        return int(1000);
      case 5:
        return Array.from({ length: int(4) }, () => junkValue(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: int(4) }, () => [junkString(6), junkValue(depth + 1)]),
        );
    }
  };
  const badIds = [{}, [], true, false, 1.25, 2 ** 60, -(2 ** 60), 'i'.repeat(129), { id: 1 }];
  const nonStringMethods = [1, null, true, [], {}, ['echo']];
  const valid = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: { text: 'ok' } });

  const kinds: (() => string)[] = [
    () => junkString(200),
    () => valid.slice(0, int(valid.length - 1) + 1),
    () => '{'.repeat(int(5000) + 1),
    () => '['.repeat(int(20000) + 1) + ']'.repeat(int(10)),
    () => JSON.stringify(junkValue()) ?? 'undefined',
    () => JSON.stringify([junkValue(), junkValue()]),
    () =>
      JSON.stringify({
        jsonrpc: pick(['1.0', 2, null, '', '2.0 ', undefined]),
        id: int(100),
        method: 'echo',
      }),
    () => JSON.stringify({ jsonrpc: '2.0', id: pick(badIds), method: 'echo' }),
    () => JSON.stringify({ jsonrpc: '2.0', id: int(100), method: pick(nonStringMethods) }),
    () => JSON.stringify({ jsonrpc: '2.0', id: junkString(10), method: `x.${junkString(10)}` }),
    () =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: int(100),
        method: 'echo',
        params: pick([[], 3, 'p', null, true]),
      }),
    () =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: int(100),
        method: 'echo',
        params: { text: pick([1, null, {}, [], true]) },
      }),
    () => valid.replace(/[":,{}]/g, () => (random() < 0.3 ? pick(['', "'", ';', ' ', '\\']) : '"')),
    () => `${valid}${junkString(5)}x`,
    () => '\u0000'.repeat(int(50) + 1),
  ];

  return Array.from({ length: count }, () => pick(kinds)());
}
