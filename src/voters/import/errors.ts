import { InputError } from '../../basics/index.ts';
import type { InputPosition } from '../../basics/index.ts';

/** Stable codes of import failures (a failed run, never one bad row: those are quarantined). */
export const IMPORT_ERROR_CODES = [
  'FILE_UNREADABLE',
  'FILE_CHANGED',
  'HEADER_MISMATCH',
  'LAYOUT_UNSUPPORTED',
  'IMPORT_RUNNING',
  'QUARANTINE_INSECURE',
  'WORKER_FAILED',
  'IO_FAILED',
] as const;

/** One of {@link IMPORT_ERROR_CODES}. */
export type ImportErrorCode = (typeof IMPORT_ERROR_CODES)[number];

/**
 * An import that cannot run or cannot go on. Carries the file position when the file itself is
 * at fault (a header that does not match the layout).
 */
export class ImportError extends InputError<ImportErrorCode> {
  constructor(
    code: ImportErrorCode,
    message: string,
    options: InputPosition & { readonly cause?: unknown } = {},
  ) {
    const { cause, ...position } = options;
    super(code, message, position, cause === undefined ? undefined : { cause });
  }
}
