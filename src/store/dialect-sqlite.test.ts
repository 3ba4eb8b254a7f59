import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { STATEMENT_CACHE_SIZE, withStatementCache } from './dialect-sqlite.ts';

describe('withStatementCache', () => {
  it('prepares each SQL text once and evicts the least recently used past its size', () => {
    const sqlite = new Database(':memory:');
    const cached = withStatementCache(sqlite);
    const first = cached.prepare('select 1 as n');
    expect(cached.prepare('select 1 as n')).toBe(first);
    for (let i = 0; i < STATEMENT_CACHE_SIZE; i++) cached.prepare(`select ${i + 2} as n`);
    // 'select 1' was the oldest: it was evicted and is prepared anew.
    expect(cached.prepare('select 1 as n')).not.toBe(first);
    // A statement still runs after a schema change (SQLite re-prepares it by itself).
    sqlite.exec('create table t (a integer)');
    const count = cached.prepare('select count(*) as c from t');
    sqlite.exec('alter table t add column b text');
    expect(count.all([])).toEqual([{ c: 0 }]);
    cached.close();
    expect(sqlite.open).toBe(false);
  });
});
