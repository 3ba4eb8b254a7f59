import type { Command } from '../command.ts';
import { DEMO_COMMANDS } from './demo.ts';
import { EXPORT_COMMANDS } from './export.ts';
import { IMPORT_COMMANDS } from './import.ts';
import { INIT_COMMANDS } from './init.ts';
import { LOG_COMMANDS } from './log.ts';
import { RESULTS_COMMANDS } from './results.ts';
import { RESULTS_EXPORT_COMMANDS } from './results-export.ts';
import { SERVE_COMMANDS } from './serve.ts';
import { USER_COMMANDS } from './user.ts';
import { VOTERS_COMMANDS } from './voters.ts';

/** Every command, in the order `votervault --help` lists them. */
export const COMMANDS: readonly Command[] = [
  ...DEMO_COMMANDS,
  ...INIT_COMMANDS,
  ...SERVE_COMMANDS,
  ...IMPORT_COMMANDS,
  ...LOG_COMMANDS,
  ...VOTERS_COMMANDS,
  ...EXPORT_COMMANDS,
  ...USER_COMMANDS,
  ...RESULTS_COMMANDS,
  ...RESULTS_EXPORT_COMMANDS,
];
