import { join } from 'node:path';
import { createSessionStore } from '@tether/store';

/** Opens the gateway's SQLite file read-side to check stored runs after the fact. */
export async function storedRuns(home: string) {
  const store = await createSessionStore({ sqlitePath: join(home, 'tether.db') });
  try {
    const sessions = await store.listSessions({ limit: 1000 });
    return sessions.flatMap((session) => session.runs);
  } finally {
    await store.close();
  }
}
