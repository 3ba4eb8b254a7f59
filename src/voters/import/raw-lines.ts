/**
 * Keeps the last few megabytes of a byte stream with their line numbers, so that the exact bytes
 * of a line the reader rejected can be put in quarantine. `readDelimited` reports a bad line by
 * number only; it yields the outcomes of a chunk before it pulls the next one, so the rejected
 * line is always among the recent chunks held here.
 *
 * Attacker-controlled input: the file's bytes. Memory stays bounded whatever the line lengths:
 * chunks beyond the window are dropped and a line is cut at `maxRawBytes`.
 */

/** Bytes of recent chunks kept: more than the longest line `readDelimited` accepts. */
export const RAW_WINDOW_BYTES = 3 << 20;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

interface Chunk {
  readonly bytes: Buffer;
  /** Number of the line in progress at the chunk's first byte. */
  readonly firstLine: number;
  /** Line feeds in the chunk. */
  readonly newlines: number;
  /** The chunk's first byte begins a line (file start, or the previous chunk ended one). */
  readonly startsLine: boolean;
}

/** A line's bytes as far as they could be recovered. */
export interface RawLine {
  readonly bytes: Buffer;
  /** The line was longer than the limit, or began before the window. */
  readonly truncated: boolean;
}

/** Remembers recent chunks of a stream; see the module comment. */
export class RawLineWindow {
  readonly #chunks: Chunk[] = [];
  #held = 0;
  #line = 1;
  #bytesRead = 0;
  #atLineStart = true;

  /** Bytes that went through {@link RawLineWindow.track} so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Passes the chunks of `source` through unchanged, remembering them. */
  async *track(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer, void, undefined> {
    for await (const raw of source) {
      const bytes = Buffer.isBuffer(raw)
        ? raw
        : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      let newlines = 0;
      for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) {
        newlines++;
      }
      if (bytes.length === 0) continue;
      this.#chunks.push({ bytes, firstLine: this.#line, newlines, startsLine: this.#atLineStart });
      this.#atLineStart = bytes[bytes.length - 1] === NEWLINE;
      this.#held += bytes.length;
      this.#line += newlines;
      this.#bytesRead += bytes.length;
      while (
        this.#chunks.length > 1 &&
        this.#held - (this.#chunks[0]?.bytes.length ?? 0) >= RAW_WINDOW_BYTES
      ) {
        this.#held -= this.#chunks.shift()?.bytes.length ?? 0;
      }
      yield bytes;
    }
  }

  /**
   * The bytes of line `line` (1-based) without its line ending, at most `maxBytes` of them;
   * `undefined` when the line is no longer (or not yet) in the window.
   */
  line(line: number, maxBytes: number): RawLine | undefined {
    const chunks = this.#chunks;
    let index = chunks.findIndex((c) => line >= c.firstLine && line <= c.firstLine + c.newlines);
    if (index < 0) return undefined;
    let chunk = chunks[index];
    if (chunk === undefined) return undefined;
    // Where the line starts in this chunk: after its (line - firstLine)th line feed.
    let start = 0;
    // The line began in a chunk already dropped: what is left is its tail.
    let truncated = index === 0 && line === chunk.firstLine && !chunk.startsLine;
    for (let skip = line - chunk.firstLine; skip > 0; skip--) {
      start = chunk.bytes.indexOf(NEWLINE, start) + 1;
    }
    const parts: Buffer[] = [];
    let length = 0;
    let ended = false;
    for (;;) {
      const end = chunk.bytes.indexOf(NEWLINE, start);
      const part = chunk.bytes.subarray(start, end < 0 ? chunk.bytes.length : end);
      parts.push(part);
      length += part.length;
      ended = end >= 0;
      if (ended || length > maxBytes) break;
      index++;
      const next = chunks[index];
      // The end of what was read: the last line of a file without a final line feed.
      if (next === undefined) {
        ended = true;
        break;
      }
      chunk = next;
      start = 0;
    }
    let bytes = Buffer.concat(parts, length);
    if (ended && bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) {
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    if (bytes.length > maxBytes) {
      bytes = bytes.subarray(0, maxBytes);
      truncated = true;
    }
    return { bytes, truncated };
  }
}
