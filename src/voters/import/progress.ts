/**
 * Progress display of long runs (import, generate): on a terminal a bar redrawn in place with
 * rows/s and the estimated time left; elsewhere (logs, pipes) a plain line every N rows, or
 * nothing. It only formats: the caller says where text goes and whether that is a terminal.
 */

/** Shortest time between two redraws of the bar: fast enough to look live, cheap to draw. */
export const PROGRESS_REDRAW_MS = 200;
/** Width of the bar in characters. */
const BAR_WIDTH = 24;

/** Options of {@link createProgressBar}. */
export interface ProgressBarOptions {
  readonly write: (text: string) => void;
  /** Draw a bar redrawn in place (`\r`); otherwise plain lines. */
  readonly isTty: boolean;
  /** What is running, e.g. `Importing`. */
  readonly label: string;
  /** Amount of work in the unit of `done` (bytes of a file, rows to generate), if known. */
  readonly total?: number;
  /** Not a terminal: print a line every this many rows; 0 or absent: print nothing. */
  readonly everyRows?: number;
  /** Show rows and rows/s (default); off for phases that count only bytes, like hashing. */
  readonly showRows?: boolean;
  /** Milliseconds clock; defaults to `performance.now`. */
  readonly now?: () => number;
}

/** A running progress display. */
export interface ProgressBar {
  /** Reports `done` units of `total` and `rows` rows so far. */
  update(done: number, rows: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

/** A number with thousands separators, e.g. `1,234,567`. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A duration as `45s`, `3m05s` or `2h07m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Creates a progress display; see {@link ProgressBarOptions}. */
export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const every = options.everyRows ?? 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let nextLineAt = every;
  let done = 0;
  let rows = 0;

  const describe = (): string => {
    const seconds = Math.max((now() - started) / 1000, 1e-3);
    const parts: string[] = [options.label];
    const { total } = options;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(done / total, 1);
      if (options.isTty) {
        const filled = Math.round(fraction * BAR_WIDTH);
        parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`);
      }
      parts.push(`${Math.floor(fraction * 100)}%`);
    }
    if (options.showRows !== false) {
      parts.push(`${formatCount(rows)} rows`, `${formatCount(rows / seconds)} rows/s`);
    }
    if (total !== undefined && total > 0 && done > 0 && done < total) {
      parts.push(`ETA ${formatDuration((seconds * (total - done)) / done)}`);
    }
    return parts.join(' ');
  };

  return {
    update(doneNow, rowsNow) {
      done = doneNow;
      rows = rowsNow;
      if (options.isTty) {
        const t = now();
        if (t - lastDraw < PROGRESS_REDRAW_MS) return;
        lastDraw = t;
        // Carriage return, the line, then erase what a longer previous line left.
        options.write(`\r${describe()}\x1b[K`);
      } else if (every > 0 && rows >= nextLineAt) {
        nextLineAt = (Math.floor(rows / every) + 1) * every;
        options.write(`${describe()}\n`);
      }
    },
    finish() {
      if (options.isTty) options.write(`\r${describe()}\x1b[K\n`);
    },
  };
}
