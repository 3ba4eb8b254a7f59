// Reading a results file from disk: size-limited, decoded as UTF-8 (Latin-1 when it is not
// valid UTF-8, as older county exports are), and named by its base name only, so that no
// machine path reaches the database, the log or a publication.
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { MAX_RESULTS_FILE_BYTES } from './csv.ts';
import { ResultsError } from './errors.ts';

/**
 * Reads the bytes of a results file.
 * @throws ResultsError FILE_UNREADABLE when it is missing, not a file, unreadable or too large
 */
export async function readSourceBytes(path: string): Promise<Uint8Array> {
  const name = basename(path);
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new ResultsError('FILE_UNREADABLE', `Cannot read "${name}": not a file`, {
        file: name,
      });
    }
    if (info.size > MAX_RESULTS_FILE_BYTES) {
      throw new ResultsError(
        'FILE_UNREADABLE',
        `Cannot read "${name}": ${info.size} bytes, the limit is ${MAX_RESULTS_FILE_BYTES}`,
        { file: name },
      );
    }
    return await readFile(path);
  } catch (error: unknown) {
    if (error instanceof ResultsError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ResultsError(
      'FILE_UNREADABLE',
      `Cannot read "${name}": ${code}`,
      { file: name },
      {
        cause: error,
      },
    );
  }
}

/** Decodes text bytes: UTF-8 when valid, else Latin-1 (which decodes any bytes). */
export function decodeText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Not UTF-8: county exports from older systems are Windows-1252/Latin-1.
    return new TextDecoder('latin1').decode(bytes);
  }
}
