import { VotervaultError } from '../basics/index.ts';

/** Stable codes of every failure the log can report. */
export const TLOG_ERROR_CODES = [
  'ENTRY_TOO_LARGE',
  'ENTRY_INVALID',
  'INDEX_OUT_OF_RANGE',
  'TILE_MALFORMED',
  'TILE_MISMATCH',
  'BUNDLE_MALFORMED',
  'BUNDLE_MISMATCH',
  'ROOT_MISMATCH',
  'NOTE_MALFORMED',
  'KEY_MALFORMED',
  'SIGNATURE_INVALID',
  'CHECKPOINT_MALFORMED',
  'CHECKPOINT_ROLLBACK',
  'PROOF_INVALID',
  'NOT_FOUND',
  'LOG_LOCKED',
  'LOG_CLOSED',
  'KEY_FILE_INSECURE',
  'KEY_FILE_EXISTS',
  'DISK_FULL',
  'IO_FAILED',
] as const;

/** One of {@link TLOG_ERROR_CODES}. */
export type TlogErrorCode = (typeof TLOG_ERROR_CODES)[number];

/** A failure of the transparency log; `file` names the log file at fault when there is one. */
export class TlogError extends VotervaultError<TlogErrorCode> {
  readonly file: string | undefined;

  constructor(code: TlogErrorCode, message: string, options?: ErrorOptions & { file?: string }) {
    super(code, message, options);
    this.file = options?.file;
  }
}
