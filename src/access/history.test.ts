import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { AssertionError } from '../basics/index.ts';
import { parseSubjectTag } from '../crypto/index.ts';
import type { SubjectTag } from '../crypto/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { DatabaseHandle, Queryable } from '../store/index.ts';
import {
  canonicalJsonBytes,
  createLogKeys,
  loadLogKeys,
  openLogAppender,
  signCheckpointAsync,
  TILE_WIDTH,
  TlogError,
} from '../tlog/index.ts';
import type { LogAppender, LogIndex } from '../tlog/index.ts';
import type { LookupLogEntry } from '../voters/index.ts';
import { MAX_EVENT_SUBJECTS, recordAccess, recordPrincipalChange } from './access-event.ts';
import type { AppendLog } from './access-event.ts';
import {
  accessHistory,
  DEFAULT_HISTORY_LIMIT,
  indexAccessLog,
  MAX_HISTORY_LIMIT,
} from './history.ts';
import type { PrincipalId } from './role.ts';
import { ACCESS_MIGRATIONS } from './schema.ts';
import type { AccessTables } from './schema.ts';

const TIME = '2026-05-04T10:00:00.000Z';
const PRINCIPAL = '0123456789abcdef0123456789abcdef' as PrincipalId;

function tag(seed: string): SubjectTag {
  return parseSubjectTag(createHash('sha256').update(seed).digest('hex'));
}

/** Voters the valid entries name. */
const VOTERS = Array.from({ length: 8 }, (_, i) => tag(`voter ${i}`));
/** Named by every access event, so its history is longer than one page. */
const BUSY = tag('busy voter');
/** Named only by malformed entries and free text: its history must stay empty. */
const STRAY = tag('stray voter');

const UTF8 = new TextEncoder();

/** Entries that name STRAY (and sometimes a real voter) in ways that must not be indexed. */
const MALFORMED: readonly Uint8Array[] = [
  canonicalJsonBytes({ type: 'access', subjects: STRAY }),
  canonicalJsonBytes({ type: 'access', subjects: [VOTERS[1]!, STRAY.toUpperCase()] }),
  canonicalJsonBytes({ type: 'lookup', subjects: [STRAY, 42] }),
  canonicalJsonBytes({ type: 'lookup', subjects: [`${STRAY}0`] }),
  canonicalJsonBytes({
    type: 'access',
    subjects: [STRAY, ...Array.from({ length: MAX_EVENT_SUBJECTS }, (_, i) => tag(`many ${i}`))],
  }),
  canonicalJsonBytes({ type: 'access', subjects: { 0: STRAY, length: 1 } }),
  canonicalJsonBytes({ type: 'export', subjects: [STRAY] }),
  canonicalJsonBytes({ type: ['access'], subjects: [STRAY] }),
  canonicalJsonBytes({ subjects: [STRAY] }),
  canonicalJsonBytes([{ type: 'access', subjects: [STRAY] }]),
  canonicalJsonBytes(null),
  canonicalJsonBytes(42),
  UTF8.encode(`operator note: checked ${STRAY} by phone`),
  UTF8.encode(`{"type":"access","subjects":["${STRAY}"]`),
  // Valid JSON but for one byte that is not UTF-8.
  Uint8Array.from([
    ...UTF8.encode(`{"type":"lookup","subjects":["${STRAY}"],"note":"`),
    0xff,
    ...UTF8.encode('"}'),
  ]),
  new Uint8Array(0),
];

/** A real log on disk, signed with real keys, and what each subject's history must be. */
interface TestLog {
  readonly logDir: string;
  readonly appender: LogAppender;
  /** Log indices of the entries naming each subject, in the order they were appended. */
  readonly expected: Map<SubjectTag, LogIndex[]>;
  /** Appends `count` more entries of every kind, all at once (the appender batches them). */
  write(count: number): Promise<void>;
  remove(): Promise<void>;
}

async function openTestLog(): Promise<TestLog> {
  const dir = await mkdtemp(join(tmpdir(), 'votervault-history-'));
  const keysDir = join(dir, 'keys');
  const logDir = join(dir, 'log');
  await createLogKeys(keysDir, 'votervault.test/history');
  const keys = await loadLogKeys(keysDir);
  const appender = await openLogAppender({
    logDir,
    origin: keys.origin,
    sign: (checkpoint) => signCheckpointAsync(checkpoint, keys.signers),
  });
  const expected = new Map<SubjectTag, LogIndex[]>();
  let written = 0;

  // The expected history comes from the index the appender answers, not from counting.
  function naming(subjects: readonly SubjectTag[]): AppendLog {
    return async (entry) => {
      const index = await appender.append(entry);
      for (const subject of new Set(subjects)) {
        const indices = expected.get(subject) ?? [];
        indices.push(index);
        expected.set(subject, indices);
      }
      return index;
    };
  }

  function appendOne(k: number): Promise<unknown> {
    const voter = VOTERS[k % VOTERS.length]!;
    // Every third entry names a second voter, sometimes the same one twice.
    const subjects = k % 3 === 0 ? [voter, VOTERS[(k * 5) % VOTERS.length]!] : [voter];
    const event = {
      type: 'access',
      principal: PRINCIPAL,
      role: 'county-clerk',
      jurisdiction: '01',
      action: 'view',
      purpose: 'voter-request',
      fieldClasses: ['public'],
      channel: 'officials',
      error: null,
      time: TIME,
    } as const;
    switch (k % 10) {
      case 0:
      case 1:
      case 2:
      case 3: {
        const named = [...subjects, BUSY];
        return recordAccess(naming(named), {
          ...event,
          records: named.length,
          subjects: named,
          outcome: 'allowed',
          reason: null,
        });
      }
      case 4:
        return recordAccess(naming(subjects), {
          ...event,
          records: 0,
          subjects,
          outcome: 'denied',
          reason: 'out-of-scope',
        });
      case 5:
      case 6: {
        const found = k % 10 === 5;
        const entry: LookupLogEntry = {
          type: 'lookup',
          channel: 'web',
          result: found ? 'found' : 'not-found',
          subjects: found ? [voter] : [],
          time: TIME,
        };
        return naming(found ? [voter] : [])(canonicalJsonBytes(entry));
      }
      case 7:
        return recordPrincipalChange(naming([]), {
          type: 'principal-change',
          change: 'created',
          principal: PRINCIPAL,
          role: 'county-clerk',
          scope: ['01'],
          token: null,
          actor: null,
          channel: 'cli',
          time: TIME,
        });
      case 8:
      case 9:
        return naming([])(MALFORMED[Math.floor(k / 10) % MALFORMED.length]!);
      default:
        throw new Error('unreachable');
    }
  }

  return {
    logDir,
    appender,
    expected,
    async write(count) {
      const start = written;
      written += count;
      await Promise.all(Array.from({ length: count }, (_, i) => appendOne(start + i)));
    },
    async remove() {
      await appender.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The whole history of `subject`, read page by page, oldest first. */
async function fullHistory(
  q: Queryable<AccessTables>,
  subject: SubjectTag,
  limit = MAX_HISTORY_LIMIT,
): Promise<number[]> {
  const all: number[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await accessHistory(q, subject, {
      limit,
      ...(before === undefined ? {} : { before }),
    });
    all.push(...page);
    if (page.length < limit) return all.reverse();
    before = page.at(-1);
  }
}

/** What the index must hold for a log indexed to `size`. */
function expectedBelow(log: TestLog, subject: SubjectTag, size: number): number[] {
  return (log.expected.get(subject) ?? []).filter((index) => index < size).sort((a, b) => a - b);
}

async function rowCount(q: Queryable<AccessTables>): Promise<number> {
  const row = await q.db
    .selectFrom('access_subject_entry')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function expectIndexed(q: Queryable<AccessTables>, log: TestLog, size: number) {
  let rows = 0;
  for (const subject of [...VOTERS, BUSY]) {
    const want = expectedBelow(log, subject, size);
    expect(await fullHistory(q, subject)).toEqual(want);
    rows += want.length;
  }
  expect(await fullHistory(q, STRAY)).toEqual([]);
  // Nothing else was indexed: no tag of the over-long malformed entry, no stray rows.
  expect(await rowCount(q)).toBe(rows);
}

for (const dialect of DIALECTS) {
  describe(`access history on ${dialect}`, () => {
    let database: TestDatabase;
    let handle: DatabaseHandle<AccessTables>;
    let log: TestLog;

    beforeEach(async () => {
      database = await createTestDatabase(dialect);
      handle = await openDatabase<AccessTables>(database.location);
      await migrate(handle, ACCESS_MIGRATIONS);
      log = await openTestLog();
    });

    afterEach(async () => {
      await handle.close();
      await database.drop();
      await log.remove();
    });

    it('starts empty', async () => {
      expect(await indexAccessLog(handle, { logDir: log.logDir, size: 0 })).toEqual({
        indexed: 0,
        size: 0,
      });
      expect(await accessHistory(handle, VOTERS[0]!)).toEqual([]);
    });

    it('indexes the entries naming each subject across full and partial bundles', async () => {
      await log.write(2 * TILE_WIDTH + 88);
      const size = log.appender.size;
      expect(size).toBe(600);
      expect(await indexAccessLog(handle, { logDir: log.logDir, size })).toEqual({
        indexed: size,
        size,
      });
      // Every kind of entry is in the log, and the expectation covers all three bundles.
      expect(log.expected.get(VOTERS[0]!)!.some((index) => index >= 2 * TILE_WIDTH)).toBe(true);
      expect(log.expected.get(BUSY)!.length).toBeGreaterThan(MAX_HISTORY_LIMIT);
      await expectIndexed(handle, log, size);
    });

    it('catches up incrementally, resuming inside a bundle', async () => {
      await log.write(300);
      expect(await indexAccessLog(handle, { logDir: log.logDir, size: 100 })).toEqual({
        indexed: 100,
        size: 100,
      });
      await expectIndexed(handle, log, 100);
      expect(await indexAccessLog(handle, { logDir: log.logDir, size: 300 })).toEqual({
        indexed: 200,
        size: 300,
      });
      await expectIndexed(handle, log, 300);
      await log.write(400);
      expect(await indexAccessLog(handle, { logDir: log.logDir, size: 700 })).toEqual({
        indexed: 400,
        size: 700,
      });
      await expectIndexed(handle, log, 700);
    });

    it('does nothing when run twice or asked for a smaller size', async () => {
      await log.write(300);
      await indexAccessLog(handle, { logDir: log.logDir, size: 300 });
      const rows = await rowCount(handle);
      for (const size of [300, 120, 0]) {
        expect(await indexAccessLog(handle, { logDir: log.logDir, size })).toEqual({
          indexed: 0,
          size: 300,
        });
      }
      expect(await rowCount(handle)).toBe(rows);
      await expectIndexed(handle, log, 300);
    });

    it('keeps the bundles committed before a failed read and resumes after them', async () => {
      await log.write(300);
      // A size past the end of the log on disk: bundle 1 of width 144 does not exist.
      const failed = await indexAccessLog(handle, { logDir: log.logDir, size: 400 }).catch(
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(TlogError);
      expect((failed as TlogError).code).toBe('NOT_FOUND');
      await expectIndexed(handle, log, TILE_WIDTH);
      expect(await indexAccessLog(handle, { logDir: log.logDir, size: 300 })).toEqual({
        indexed: 300 - TILE_WIDTH,
        size: 300,
      });
      await expectIndexed(handle, log, 300);
    });

    it('indexes each entry once when several indexers run at once', async () => {
      await log.write(3 * TILE_WIDTH + 10);
      const size = log.appender.size;
      // PostgreSQL: separate pools, as separate processes would have. SQLite: one handle, whose
      // transactions take turns (a second connection in this process would block the thread).
      const others =
        dialect === 'postgres'
          ? await Promise.all([1, 2].map(() => openDatabase<AccessTables>(database.location)))
          : [];
      try {
        const targets = dialect === 'postgres' ? [handle, ...others] : [handle, handle, handle];
        const reports = await Promise.all(
          targets.map((q) => indexAccessLog(q, { logDir: log.logDir, size })),
        );
        expect(reports.map((report) => report.size)).toEqual([size, size, size]);
        expect(reports.reduce((sum, report) => sum + report.indexed, 0)).toBe(size);
      } finally {
        for (const other of others) await other.close();
      }
      await expectIndexed(handle, log, size);
    });

    it('returns a page of the newest entries, capped, and pages back with before', async () => {
      await log.write(600);
      await indexAccessLog(handle, { logDir: log.logDir, size: 600 });
      const busy = expectedBelow(log, BUSY, 600).reverse();
      expect(await accessHistory(handle, BUSY)).toEqual(busy.slice(0, DEFAULT_HISTORY_LIMIT));
      expect(await accessHistory(handle, BUSY, { limit: 10_000 })).toEqual(
        busy.slice(0, MAX_HISTORY_LIMIT),
      );
      expect(await accessHistory(handle, BUSY, { limit: 3, before: busy[4]! })).toEqual(
        busy.slice(5, 8),
      );
      expect(await accessHistory(handle, BUSY, { before: 0 })).toEqual([]);
      expect(await fullHistory(handle, VOTERS[3]!, 7)).toEqual(expectedBelow(log, VOTERS[3]!, 600));
      await expect(accessHistory(handle, BUSY, { limit: 0 })).rejects.toThrow(AssertionError);
      await expect(accessHistory(handle, BUSY, { limit: 2.5 })).rejects.toThrow(AssertionError);
      await expect(accessHistory(handle, BUSY, { before: -1 })).rejects.toThrow(AssertionError);
      await expect(indexAccessLog(handle, { logDir: log.logDir, size: -1 })).rejects.toThrow(
        AssertionError,
      );
    });
  });
}
