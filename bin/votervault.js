#!/usr/bin/env node
// Runs the TypeScript sources directly through Node's type stripping (Node >= 22.18 / 24).
import { main } from '../src/cli/main.ts';

// A reader that goes away (`votervault log proof … | head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
