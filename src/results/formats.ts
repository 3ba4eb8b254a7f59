// Which reader reads a file: a guess from its first bytes (the CLI says what it guessed), and
// one registry from format to reader, so that the CSV readers here and the XML/CDF readers
// (clarity.ts, nist-cdf.ts) are dispatched the same way.
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { readClarityXml } from './clarity.ts';
import { headerKey, parseCsv } from './csv.ts';
import { ResultsError } from './errors.ts';
import { readMedslCsv } from './medsl.ts';
import type { ReadResultsOptions, ResultsDocumentWithTurnout, ResultsFormat } from './model.ts';
import { readNistCdfJson, readNistCdfXml } from './nist-cdf.ts';
import { electionFromFileName, readOpenElectionsCsv, resolveElection } from './openelections.ts';
import { readSourceBytes } from './source-file.ts';
import type { XmlResultsOptions } from './xml.ts';
import { isZip, readZip } from './zip.ts';

/** Bytes read to guess a format: enough for a CSV header or an XML root element. */
const SNIFF_BYTES = 8192;

/** A reader of one format. */
export type ResultsReader = (
  file: string,
  options: ReadResultsOptions,
) => Promise<ResultsDocumentWithTurnout>;

/** The XML/CDF readers take a whole election; build it from the options and the file name. */
function xmlReader(
  read: (file: string, options: XmlResultsOptions) => Promise<ResultsDocumentWithTurnout>,
): ResultsReader {
  return (file, options) => {
    const name = options.sourceName ?? basename(file);
    const election = resolveElection(
      electionFromFileName(name.replace(/\.\w+$/, '.csv')) ?? {},
      options,
      name,
    );
    return read(file, {
      election,
      ...(options.mappings === undefined ? {} : { mappings: options.mappings }),
      ...(options.sourceName === undefined ? {} : { sourceName: options.sourceName }),
    });
  };
}

/** Every format's reader. */
export const RESULTS_READERS: Readonly<Record<ResultsFormat, ResultsReader>> = {
  'openelections-csv': readOpenElectionsCsv,
  'medsl-csv': readMedslCsv,
  'clarity-xml': xmlReader(readClarityXml),
  'nist-cdf-xml': xmlReader(readNistCdfXml),
  'nist-cdf-json': xmlReader(readNistCdfJson),
};

/**
 * Guesses the format of the first bytes of a file: a zip holding a CSV is MEDSL (that is how
 * MEDSL ships precinct files); `<ElectionResult` is Clarity; `<ElectionReport` is NIST CDF XML
 * (Google's profile too); JSON naming `ElectionResults.` types is NIST CDF JSON; a CSV header
 * with MEDSL's `state_po` is MEDSL, one with `office` and `candidate` is OpenElections.
 * Attacker-controlled: the bytes are only compared, never interpreted.
 * @throws ResultsError FORMAT_UNKNOWN saying what the file looks like
 */
export function detectFormatOfBytes(head: Uint8Array, file: string): ResultsFormat {
  if (isZip(head)) return 'medsl-csv';
  const text = new TextDecoder('utf-8').decode(head).replace(/^\uFEFF/, '');
  const start = text.trimStart();
  if (start.startsWith('<')) {
    const root = /<(?![?!])(?:[\w.-]+:)?([\w.-]+)/.exec(start.replace(/<!--[\s\S]*?-->/g, ''))?.[1];
    if (root === 'ElectionResult') return 'clarity-xml';
    if (root === 'ElectionReport') return 'nist-cdf-xml';
    throw new ResultsError(
      'FORMAT_UNKNOWN',
      `Cannot tell the format of "${file}": XML with root "${root ?? ''}", expected ElectionResult (Clarity) or ElectionReport (NIST CDF)`,
      { file },
    );
  }
  if (start.startsWith('{') || start.startsWith('[')) {
    if (start.includes('ElectionResults.')) return 'nist-cdf-json';
    throw new ResultsError(
      'FORMAT_UNKNOWN',
      `Cannot tell the format of "${file}": JSON without "ElectionResults." types, expected NIST CDF JSON`,
      { file },
    );
  }
  const firstLine = start.split(/\r?\n/, 1)[0] ?? '';
  let keys: string[] = [];
  try {
    keys = (parseCsv(firstLine, file)[0]?.fields ?? []).map(headerKey);
  } catch {
    // A header that is not even CSV falls through to FORMAT_UNKNOWN below.
  }
  if (keys.includes('state_po') && keys.includes('candidate')) return 'medsl-csv';
  if (keys.includes('office') && keys.includes('candidate')) return 'openelections-csv';
  throw new ResultsError(
    'FORMAT_UNKNOWN',
    `Cannot tell the format of "${file}": line 1 is not a known results header, expected OpenElections or MEDSL CSV, Clarity XML or NIST CDF`,
    { file, line: 1 },
  );
}

/**
 * Guesses the format of a file from its first bytes (see {@link detectFormatOfBytes}). A zip
 * is opened to check that it holds a CSV.
 * @throws ResultsError FILE_UNREADABLE, FORMAT_UNKNOWN, ZIP_MALFORMED
 */
export async function detectFormat(file: string): Promise<ResultsFormat> {
  const name = basename(file);
  let head: Uint8Array;
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(SNIFF_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ResultsError(
      'FILE_UNREADABLE',
      `Cannot read "${name}": ${code}`,
      { file: name },
      { cause: error },
    );
  }
  const format = detectFormatOfBytes(head, name);
  if (isZip(head)) {
    const entries = readZip(await readSourceBytes(file), name);
    const csv = entries.find((e) => /\.csv$/i.test(e.name));
    if (csv === undefined) {
      throw new ResultsError(
        'FORMAT_UNKNOWN',
        `Cannot tell the format of "${name}": a zip without a CSV file`,
        {
          file: name,
        },
      );
    }
    return detectFormatOfBytes(csv.bytes.subarray(0, SNIFF_BYTES), `${name}/${csv.name}`);
  }
  return format;
}

/**
 * Reads a results file in the given format, or the detected one.
 * @throws ResultsError FILE_UNREADABLE, FORMAT_UNKNOWN, and whatever the format's reader throws
 */
export async function readResultsFile(
  file: string,
  options: ReadResultsOptions & { readonly format?: ResultsFormat } = {},
): Promise<{ readonly format: ResultsFormat; readonly document: ResultsDocumentWithTurnout }> {
  const format = options.format ?? (await detectFormat(file));
  const document = await RESULTS_READERS[format](file, options);
  return { format, document };
}
