import { join, resolve } from 'node:path';

/** Where each part of a votervault data directory lives. */
export interface DataDir {
  readonly root: string;
  /** The public log: everything here may be served to anyone. */
  readonly log: string;
  /** Private keys: never under `log`, mode 0700 with files 0600. */
  readonly keys: string;
}

/** The layout of the data directory at `dir`. */
export function dataDir(dir: string): DataDir {
  const root = resolve(dir);
  return { root, log: join(root, 'log'), keys: join(root, 'keys') };
}
