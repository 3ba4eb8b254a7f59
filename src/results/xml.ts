// XML reading for the results formats (Clarity detail.xml, NIST SP 1500-100 CDF): a bounded read
// of the file, then a plain element tree that remembers the line each element starts on.
//
// Attacker-controlled input: the whole file (an upload or a feed fetched from a county site).
// Guards, in order: the size is checked before the bytes are read (`maxBytes`); the bytes must
// be UTF-8 (strict decoding); any document type declaration is refused before parsing, so no
// entity can be declared and nothing expands (billion laughs, external entities); the parser
// runs with entity processing off and only the five predefined entities and character
// references are decoded here, one pass, never recursively; nesting is capped
// (`MAX_XML_DEPTH`); element names that would reach an object prototype are refused by the
// parser; attributes land in a `Map`, never in an object's keys.
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ResultsError } from './errors.ts';
import type { Election, NameMappings } from './model.ts';

/**
 * Largest XML or JSON results file read, in bytes. The parsed tree takes about 18 times the
 * text's size (measured: a 17.5 MB Clarity file with 640,000 counts holds 310 MB of heap once
 * parsed), so 64 MiB keeps a read near a gigabyte; `maxBytes` raises it for a larger state.
 */
export const DEFAULT_MAX_XML_BYTES = 64 * 1024 * 1024;

/** Deepest element nesting accepted; CDF documents nest about ten deep, Clarity five. */
export const MAX_XML_DEPTH = 64;

/** One element of a parsed document. */
export interface XmlElement {
  /** Local name: a namespace prefix is dropped (`cdf:Contest` is `Contest`). */
  readonly name: string;
  /** Attributes by their name as written (prefix kept: `xsi:type`), values decoded. */
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** Direct text content (CDATA included), decoded and trimmed. */
  readonly text: string;
  /** 1-based line of the element's start tag. */
  readonly line: number;
}

/** The name a results file is reported under: the caller's, else the base name, never a path. */
export function sourceNameOf(file: string, sourceName?: string): string {
  return sourceName ?? basename(file);
}

/**
 * Reads a whole text file of at most `maxBytes` bytes as strict UTF-8, a leading byte-order
 * mark dropped.
 * Attacker-controlled: the file's bytes. The size is checked on the open handle before reading,
 * and again on what was read (the file may grow between the two).
 * @throws ResultsError FILE_UNREADABLE (missing, unreadable, too large), FILE_MALFORMED (not UTF-8)
 */
export async function readBoundedText(
  file: string,
  name: string,
  maxBytes: number,
): Promise<string> {
  let handle: FileHandle | undefined;
  let bytes: Buffer;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    if (size > maxBytes) {
      throw new ResultsError(
        'FILE_UNREADABLE',
        `Cannot read "${name}": it has ${size} bytes, more than the limit of ${maxBytes}`,
        { file: name },
      );
    }
    const buffer = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) {
        throw new ResultsError(
          'FILE_UNREADABLE',
          `Cannot read "${name}": it grew beyond the limit of ${maxBytes} bytes while read`,
          { file: name },
        );
      }
    }
    bytes = buffer.subarray(0, length);
  } catch (error: unknown) {
    if (error instanceof ResultsError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new ResultsError(
      'FILE_UNREADABLE',
      `Cannot read "${name}": ${typeof code === 'string' ? code : 'read failed'}`,
      { file: name },
      { cause: error },
    );
  } finally {
    await handle?.close();
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error: unknown) {
    throw new ResultsError(
      'FILE_MALFORMED',
      `Cannot read "${name}": it is not UTF-8 text`,
      { file: name },
      { cause: error },
    );
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Start offsets of every line of `text`, for turning an offset into a line number. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line holding `offset`, by binary search over `starts`. */
function lineAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/**
 * Decodes the five predefined entities and character references in one pass; anything else
 * (`&foo;`) is left as written, since no entity can be declared (the DTD is refused).
 */
export function decodeXmlText(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(
    /&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g,
    (whole, ref: string) => {
      if (ref.startsWith('#')) {
        const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        // XML 1.0 Char production: no NUL, no surrogates, nothing past U+10FFFF.
        if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return whole;
        return String.fromCodePoint(code);
      }
      return PREDEFINED_ENTITIES[ref] ?? whole;
    },
  );
}

function malformed(name: string, what: string, line?: number, column?: number): ResultsError {
  const where =
    line === undefined ? '' : ` at line ${line}${column === undefined ? '' : `, column ${column}`}`;
  return new ResultsError('FILE_MALFORMED', `Cannot read "${name}" as XML${where}: ${what}`, {
    file: name,
    ...(line === undefined ? {} : { line }),
    ...(column === undefined ? {} : { column }),
  });
}

type OrderedNode = Record<string, unknown>;

/**
 * Parses XML text into an element tree and returns the root element.
 * Attacker-controlled: `text`. See the guards at the top of this file.
 * @throws ResultsError FILE_MALFORMED naming the file, line and column (not well-formed, a
 *   document type declaration, too deep)
 */
export function parseXml(text: string, name: string): XmlElement {
  const starts = lineStarts(text);
  // Refuse DTDs outright: results formats never use one, and declared entities are how
  // billion-laughs and external-entity payloads work.
  const doctype = /<!DOCTYPE|<!ENTITY/i.exec(text);
  if (doctype) {
    throw malformed(
      name,
      'a document type declaration is not accepted',
      lineAt(starts, doctype.index),
    );
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    throw malformed(name, valid.err.msg, valid.err.line, valid.err.col);
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    captureMetaData: true,
    maxNestedTags: MAX_XML_DEPTH,
  });
  let nodes: unknown;
  try {
    nodes = parser.parse(text);
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : 'parse failed';
    throw malformed(name, message.replace(/^\[SECURITY\]\s*/, ''));
  }
  const meta = XMLParser.getMetaDataSymbol() as unknown as symbol;
  const convert = (node: OrderedNode): XmlElement | undefined => {
    const tag = Object.keys(node).find((k) => k !== ':@');
    if (tag === undefined || tag === '#text' || tag.startsWith('?')) return undefined;
    const attributes = new Map<string, string>();
    const rawAttributes = node[':@'];
    if (rawAttributes !== null && typeof rawAttributes === 'object') {
      for (const [k, v] of Object.entries(rawAttributes as Record<string, unknown>)) {
        attributes.set(k, decodeXmlText(String(v)));
      }
    }
    const children: XmlElement[] = [];
    const texts: string[] = [];
    const content = node[tag];
    if (Array.isArray(content)) {
      for (const child of content as OrderedNode[]) {
        const value = child['#text'];
        if (typeof value === 'string' || typeof value === 'number') {
          texts.push(decodeXmlText(String(value)));
        } else {
          const element = convert(child);
          if (element) children.push(element);
        }
      }
    }
    const metadata = (node as Record<symbol, { startIndex?: number } | undefined>)[meta];
    const colon = tag.indexOf(':');
    return {
      name: colon === -1 ? tag : tag.slice(colon + 1),
      attributes,
      children,
      text: texts.join(' ').trim(),
      line: lineAt(starts, metadata?.startIndex ?? 0),
    };
  };
  const roots = (Array.isArray(nodes) ? (nodes as OrderedNode[]) : [])
    .map(convert)
    .filter((e) => e !== undefined);
  const [root, second] = roots;
  if (root === undefined) throw malformed(name, 'no root element');
  if (second !== undefined) throw malformed(name, 'more than one root element', second.line);
  return root;
}

/** A results file's text and the name it is reported under ({@link sourceNameOf}). */
export interface NamedText {
  readonly name: string;
  readonly text: string;
}

/**
 * Reads a results file as the XML and CDF readers take it: named by `options.sourceName` or its
 * base name, at most `options.maxBytes` ({@link DEFAULT_MAX_XML_BYTES}) bytes of UTF-8.
 * @throws ResultsError FILE_UNREADABLE, FILE_MALFORMED (not UTF-8)
 */
export async function readResultsText(
  file: string,
  options: XmlResultsOptions,
): Promise<NamedText> {
  const name = sourceNameOf(file, options.sourceName);
  const text = await readBoundedText(file, name, options.maxBytes ?? DEFAULT_MAX_XML_BYTES);
  return { name, text };
}

/** A parsed results XML file and the name it is reported under. */
export interface NamedXml {
  readonly name: string;
  readonly root: XmlElement;
}

/**
 * Reads and parses a results XML file; see {@link readResultsText} and {@link parseXml}.
 * @throws ResultsError FILE_UNREADABLE, FILE_MALFORMED (naming line and column)
 */
export async function readResultsXml(file: string, options: XmlResultsOptions): Promise<NamedXml> {
  const { name, text } = await readResultsText(file, options);
  return { name, root: parseXml(text, name) };
}

/** What {@link expectRootElement} checks a document against. */
export interface ExpectedRoot {
  /** The file's name, for the error. */
  readonly name: string;
  /** The root element's local name. */
  readonly element: string;
  /** The format as the error names it (`Clarity XML`). */
  readonly format: string;
}

/**
 * Refuses a document whose root element is not the one its format has.
 * @throws ResultsError FORMAT_UNKNOWN naming the root found (at most 64 characters of it)
 */
export function expectRootElement(root: XmlElement, expected: ExpectedRoot): void {
  const { name, element, format } = expected;
  if (root.name !== element) {
    throw new ResultsError(
      'FORMAT_UNKNOWN',
      `Cannot read "${name}" as ${format}: the root element is "${root.name.slice(0, 64)}", expected "${element}"`,
      { file: name, line: root.line },
    );
  }
}

/** Children of `element` with the local name `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** First child of `element` with the local name `name`. */
export function childNamed(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

/** An attribute by local name, whatever its prefix (`xsi:type` matches `type`). */
export function attributeLocal(element: XmlElement, name: string): string | undefined {
  const direct = element.attributes.get(name);
  if (direct !== undefined) return direct;
  for (const [k, v] of element.attributes) {
    if (k.endsWith(`:${name}`)) return v;
  }
  return undefined;
}

/** Options of the XML and CDF readers. */
export interface XmlResultsOptions {
  /** The election the file reports; see each reader for what the file may fill in. */
  readonly election: Election;
  /** Name mappings applied to office, party and candidate names; default: the defaults only. */
  readonly mappings?: NameMappings;
  /** Name recorded as `SourcePosition.file` and in errors; default: the file's base name. */
  readonly sourceName?: string;
  /** Largest file accepted, in bytes; default {@link DEFAULT_MAX_XML_BYTES}. */
  readonly maxBytes?: number;
}
