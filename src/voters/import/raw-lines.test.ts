import { describe, expect, it } from 'vitest';
import { RAW_WINDOW_BYTES, RawLineWindow } from './raw-lines.ts';

async function track(window: RawLineWindow, chunks: readonly string[]): Promise<number> {
  const source = chunks.map((chunk) => Buffer.from(chunk, 'latin1'));
  let bytes = 0;
  for await (const chunk of window.track(toAsync(source))) bytes += chunk.length;
  return bytes;
}

async function* toAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

describe('RawLineWindow', () => {
  it('recovers lines that span chunks, without their line endings', async () => {
    const window = new RawLineWindow();
    const bytes = await track(window, ['one\r\ntw', 'o\n', '\nfo', 'u', 'r\nfive']);
    expect(bytes).toBe(19);
    expect(window.bytesRead).toBe(19);
    const line = (n: number): string | undefined => window.line(n, 100)?.bytes.toString('latin1');
    expect([1, 2, 3, 4, 5].map(line)).toEqual(['one', 'two', '', 'four', 'five']);
    expect(window.line(6, 100)).toBeUndefined();
    expect(window.line(4, 2)).toEqual({ bytes: Buffer.from('fo'), truncated: true });
  });

  it('forgets old chunks and marks a line whose start was dropped', async () => {
    const window = new RawLineWindow();
    const big = 'x'.repeat(RAW_WINDOW_BYTES);
    await track(window, ['first\nsec', 'ond', big, big, 'end\nlast\n']);
    expect(window.line(1, 100)).toBeUndefined();
    const second = window.line(2, 1 << 30);
    expect(second?.truncated).toBe(true);
    expect(second?.bytes.toString('latin1').endsWith('xend')).toBe(true);
    expect(window.line(3, 100)?.bytes.toString('latin1')).toBe('last');
  });
});
