// Opens the COMPILED store (dist/) in a separate node process, as the gateway does, writes one
// session and prints what happened as one JSON line. Usage: node store-child.mjs <sqlitePath>
const { createSessionStore } = await import(new URL('../../dist/index.js', import.meta.url).href);

const sqlitePath = process.argv[2];
let store;
try {
  store = await createSessionStore({ sqlitePath });
  const createdAt = new Date('2024-05-06T07:08:09.123Z');
  await store.createSession({ sessionId: 'child', title: 'from dist', cwd: '/', createdAt });
  const session = await store.getSession('child');
  const report = { outcome: 'written', title: session?.title, at: session?.createdAt };
  console.log(JSON.stringify(report));
} catch (error) {
  console.log(JSON.stringify({ outcome: 'rejected', name: error?.name, code: error?.code }));
} finally {
  await store?.close();
}
