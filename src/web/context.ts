// What the web servers work with: the store, the key ring and the log, opened once by the
// caller (the `serve` and `demo` commands) and shared by both listeners.
import type { AccessTables } from '../access/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import type { DatabaseHandle } from '../store/index.ts';
import type { LogAppender } from '../tlog/index.ts';
import type { ResultsTables } from '../results/index.ts';
import type { ExportTables, VotersTables } from '../voters/index.ts';

/** Every table the web layer reads or writes. */
export type WebTables = VotersTables & ExportTables & AccessTables & ResultsTables;

/** The parts of a running system the web layer uses. */
export interface WebContext {
  readonly handle: DatabaseHandle<WebTables>;
  readonly ring: KeyRing;
  /** The one writer of the log: every access event goes through it, durably, before answers. */
  readonly log: LogAppender;
  /** The log directory, served read-only under `/log/` and read for proofs. */
  readonly logDir: string;
  /** The log's verifier keys (`name+id+key`), Ed25519 first, for browsers to check checkpoints. */
  readonly verifierKeys: readonly string[];
  /** Clock; `new Date()` by default. */
  readonly now?: () => Date;
}
