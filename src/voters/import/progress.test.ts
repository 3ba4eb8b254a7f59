import { describe, expect, it } from 'vitest';
import { createProgressBar, formatCount, formatDuration } from './progress.ts';

describe('formatting', () => {
  it('writes counts with separators and durations compactly', () => {
    expect(formatCount(1234567.4)).toBe('1,234,567');
    expect(formatDuration(45)).toBe('45s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(7620)).toBe('2h07m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});

describe('createProgressBar', () => {
  it('redraws a bar with rate and ETA on a terminal, at most every 200 ms', () => {
    let clock = 0;
    let output = '';
    const bar = createProgressBar({
      write: (text) => (output += text),
      isTty: true,
      label: 'Importing',
      total: 1000,
      now: () => clock,
    });
    clock = 1000;
    bar.update(250, 5000);
    expect(output).toBe(
      '\rImporting [######..................] 25% 5,000 rows 5,000 rows/s ETA 3s\x1b[K',
    );
    clock = 1100;
    bar.update(300, 6000);
    expect(output.split('\r')).toHaveLength(2);
    clock = 2000;
    bar.update(1000, 20000);
    bar.finish();
    expect(output.endsWith('100% 20,000 rows 10,000 rows/s\x1b[K\n')).toBe(true);
  });

  it('prints a plain line every N rows elsewhere, or nothing', () => {
    let clock = 0;
    const lines: string[] = [];
    const bar = createProgressBar({
      write: (text) => lines.push(text),
      isTty: false,
      label: 'Importing',
      total: 100,
      everyRows: 1000,
      now: () => (clock += 500),
    });
    for (const rows of [400, 1000, 1500, 2600]) bar.update(rows / 100, rows);
    bar.finish();
    expect(lines).toEqual([
      'Importing 10% 1,000 rows 2,000 rows/s ETA 5s\n',
      'Importing 26% 2,600 rows 2,600 rows/s ETA 3s\n',
    ]);
    const silent: string[] = [];
    const quiet = createProgressBar({ write: (t) => silent.push(t), isTty: false, label: 'x' });
    quiet.update(1, 10_000_000);
    quiet.finish();
    expect(silent).toEqual([]);
  });
});

describe('createProgressBar without rows', () => {
  it('shows only the share done and the time left', () => {
    let clock = 0;
    let output = '';
    const bar = createProgressBar({
      write: (text) => (output += text),
      isTty: true,
      label: 'Hashing',
      total: 200,
      showRows: false,
      now: () => clock,
    });
    clock = 1000;
    bar.update(50, 0);
    expect(output).toBe('\rHashing [######..................] 25% ETA 3s\x1b[K');
  });
});
