import { VotervaultError } from '../basics/index.ts';
import type { CliIo, Command } from './command.ts';
import { UsageError } from './command.ts';
import { COMMANDS } from './commands/index.ts';

function helpText(): string {
  const lines = COMMANDS.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]);
  return [
    'votervault: election data sealed per record, every access in a public verifiable log',
    '',
    'Usage:',
    ...lines,
    '',
    'Run "votervault <command> --help" for one command.',
    '',
  ].join('\n');
}

function findCommand(
  argv: readonly string[],
): { command: Command; rest: readonly string[] } | undefined {
  let best: Command | undefined;
  for (const c of COMMANDS) {
    const matches = c.path.every((word, i) => argv[i] === word);
    if (matches && (best === undefined || c.path.length > best.path.length)) best = c;
  }
  return best === undefined ? undefined : { command: best, rest: argv.slice(best.path.length) };
}

/** The process's own output streams. */
export function processIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    stdin: process.stdin,
    isTty: process.stderr.isTTY,
  };
}

/**
 * Runs `votervault` with the given words and resolves with the exit code: 0 on success, 1 when
 * the operation failed, 2 on a usage error. Only this layer turns errors into exit codes.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(helpText());
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (found === undefined) {
    io.err(`Unknown command "${argv.join(' ')}"\n\n${helpText()}`);
    return 2;
  }
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    io.out(`Usage: ${found.command.usage}\n\n${found.command.summary}\n`);
    return 0;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (error: unknown) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\nUsage: ${found.command.usage}\n`);
      return 2;
    }
    if (error instanceof VotervaultError) {
      io.err(`Error ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
