import { describe, it, expect } from 'vitest';
import { StoreError } from './errors.ts';
import { parseLocation, redactLocation } from './location.ts';

describe('redactLocation', () => {
  it('hides the password of a PostgreSQL URL and keeps the rest', () => {
    expect(redactLocation('postgres://alice:s3cret@db.example.org:5432/vv')).toBe(
      'postgres://alice:***@db.example.org:5432/vv',
    );
    expect(redactLocation('postgresql://:s3cret@db.example.org/vv')).toBe(
      'postgresql://:***@db.example.org/vv',
    );
  });

  it('hides a password holding unescaped "@", "/" and "#"', () => {
    const redacted = redactLocation('postgres://alice:p@ss/w#rd@host/vv');
    expect(redacted).toBe('postgres://alice:***@host/vv');
    expect(redacted).not.toContain('ss/w');
  });

  it('hides a password given as a query parameter', () => {
    expect(redactLocation('postgresql://host/vv?sslmode=require&PASSWORD=s3cret&x=1')).toBe(
      'postgresql://host/vv?sslmode=require&PASSWORD=***&x=1',
    );
  });

  it('hides the password of URLs of other schemes too', () => {
    expect(redactLocation('mysql://root:s3cret@host/vv')).toBe('mysql://root:***@host/vv');
  });

  it('leaves URLs without a password and file paths unchanged', () => {
    expect(redactLocation('postgres://alice@host/vv')).toBe('postgres://alice@host/vv');
    expect(redactLocation('/srv/data/a:b@c.sqlite3')).toBe('/srv/data/a:b@c.sqlite3');
    expect(redactLocation(':memory:')).toBe(':memory:');
  });
});

describe('parseLocation', () => {
  it('tells memory, files and PostgreSQL URLs apart', () => {
    expect(parseLocation(':memory:')).toEqual({ kind: 'memory' });
    expect(parseLocation('data/vv.sqlite3')).toEqual({ kind: 'file', path: 'data/vv.sqlite3' });
    expect(parseLocation('C:\\data\\vv.sqlite3')).toEqual({
      kind: 'file',
      path: 'C:\\data\\vv.sqlite3',
    });
    expect(parseLocation('postgres://h/vv')).toEqual({ kind: 'postgres', url: 'postgres://h/vv' });
    expect(parseLocation('PostgreSQL://h/vv')).toEqual({
      kind: 'postgres',
      url: 'PostgreSQL://h/vv',
    });
  });

  it('refuses an empty location, other URL schemes and unparsable URLs without quoting passwords', () => {
    const attempts = ['', 'mysql://root:s3cret@host/vv', 'postgres://alice:s3cret@ho st/vv'];
    for (const location of attempts) {
      let caught: unknown;
      try {
        parseLocation(location);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(StoreError);
      expect((caught as StoreError).code).toBe('LOCATION_INVALID');
      expect((caught as StoreError).message).not.toContain('s3cret');
    }
  });
});
