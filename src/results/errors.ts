import { InputError } from '../basics/index.ts';
import type { InputPosition } from '../basics/index.ts';

/** Stable codes of {@link ResultsError}. */
export const RESULTS_ERROR_CODES = [
  /** The file cannot be read (missing, unreadable, too large). */
  'FILE_UNREADABLE',
  /** The file is not text in the expected shape (binary, not CSV, unterminated quote…). */
  'FILE_MALFORMED',
  /** A required column is missing from the header. */
  'COLUMNS_MISSING',
  /** No reader recognises the file. */
  'FORMAT_UNKNOWN',
  /** The format is recognised but this build cannot read it. */
  'FORMAT_UNSUPPORTED',
  /** A zip archive is damaged or uses a feature the reader does not support. */
  'ZIP_MALFORMED',
  /** The mappings file is not valid JSON of the expected shape. */
  'MAPPINGS_INVALID',
  /** An election id, name or date is not acceptable. */
  'ELECTION_INVALID',
  /** No election with that id is stored. */
  'ELECTION_NOT_FOUND',
  /** The election has no contests to publish. */
  'NOTHING_TO_PUBLISH',
  /** No publication with that sequence number is stored. */
  'PUBLICATION_NOT_FOUND',
  /** A stored publication does not match its hash, its log entry or the log. */
  'PUBLICATION_INVALID',
] as const;

/** One of {@link RESULTS_ERROR_CODES}. */
export type ResultsErrorCode = (typeof RESULTS_ERROR_CODES)[number];

/**
 * Errors of the results module. Parse failures carry the file and line (an `InputError`), so
 * the office can find the row; messages hold file names and column names, never a row's values
 * beyond what results publish anyway.
 */
export class ResultsError extends InputError<ResultsErrorCode> {
  constructor(
    code: ResultsErrorCode,
    message: string,
    position: InputPosition = {},
    options?: ErrorOptions,
  ) {
    super(code, message, position, options);
  }
}
