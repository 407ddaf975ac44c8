/**
 * A store hiccup done honestly on SQLite: a second connection takes the write lock
 * (BEGIN IMMEDIATE) and holds it for a moment, so the gateway's writes meet a busy database.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';

export class StoreHiccup {
  private db: Database.Database | null = null;
  private isHolding = false;
  heldCount = 0;
  missedCount = 0;

  constructor(private readonly home: string) {}

  /** Holds the write lock for `holdMs`; resolves when released. Never overlaps itself. */
  async hold(holdMs: number): Promise<void> {
    if (this.isHolding) return;
    // A short busy timeout: this runs on the soak's own loop, which must not stall either.
    this.db ??= new Database(join(this.home, 'tether.db'), { timeout: 50 });
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      // The gateway is writing right now; a hiccup that could not start is only counted.
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
      this.missedCount += 1;
      return;
    }
    this.isHolding = true;
    this.heldCount += 1;
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    this.db.exec('ROLLBACK');
    this.isHolding = false;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}
