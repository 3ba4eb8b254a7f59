import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { VotervaultError } from '../basics/index.ts';

/** Where a command writes; tests pass their own to capture output. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly stdin: NodeJS.ReadableStream;
  readonly isTty: boolean;
}

/** One `votervault …` command. */
export interface Command {
  /** Words after `votervault`, e.g. `['log', 'append']`. */
  readonly path: readonly string[];
  readonly usage: string;
  readonly summary: string;
  /** Runs the command with the words after its path; resolves with the exit code. */
  readonly run: (args: readonly string[], io: CliIo) => Promise<number>;
}

/** A command-line usage error: wrong or missing flags. Exit code 2. */
export class UsageError extends VotervaultError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message);
  }
}

type OptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
>;

/**
 * Parses flags with node:util, then validates them with a zod schema (parse at the edge, once).
 * @throws UsageError naming the flag that is wrong
 */
export function parseFlags<T>(
  args: readonly string[],
  options: OptionSpec,
  schema: z.ZodType<T>,
): { readonly flags: T; readonly positionals: readonly string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error: unknown) {
    throw new UsageError(error instanceof Error ? error.message : 'Cannot parse flags');
  }
  const result = schema.safeParse(parsed.values);
  if (!result.success) {
    const issue = result.error.issues[0];
    const flag = issue?.path.join('.') ?? '';
    throw new UsageError(`Invalid flag "--${flag}": ${issue?.message ?? 'invalid value'}`);
  }
  return { flags: result.data, positionals: parsed.positionals };
}
