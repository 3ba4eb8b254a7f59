// Runs one import in its own process, so the crash tests can kill it with SIGKILL at any
// moment: `import-process.ts <database> <file> <layout> <keys dir> <quarantine dir> <batch>`.
// Prints "committed <rows>" after each committed batch and "done <report JSON>" at the end.
// The database must already be migrated.
import { openDatabase } from '../../../store/index.ts';
import { importVoterFile } from '../pipeline.ts';
import type { ImportDatabase } from '../pipeline.ts';

if (import.meta.main) {
  const [location, file, layout, keys, quarantineDir, batch] = process.argv.slice(2);
  if (batch === undefined) {
    throw new Error('Usage: import-process.ts <database> <file> <layout> <keys> <quarantine> <batch>');
  }
  const handle = await openDatabase<ImportDatabase>(String(location));
  try {
    const report = await importVoterFile({
      db: handle,
      file: String(file),
      layout: String(layout),
      keys: { dir: String(keys) },
      quarantineDir: String(quarantineDir),
      appendLog: async (entry) => {
        process.stdout.write(`log ${Buffer.from(entry).toString('base64')}\n`);
        await Promise.resolve();
      },
      operator: 'crash-test',
      workers: 1,
      batchSize: Number(batch),
      onProgress: (progress) => {
        if (progress.phase === 'importing') process.stdout.write(`committed ${progress.rows}\n`);
      },
    });
    process.stdout.write(`done ${JSON.stringify(report)}\n`);
  } finally {
    await handle.close();
  }
}
