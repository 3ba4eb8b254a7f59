// The transparency log: RFC 6962 hashing, C2SP tlog-tiles, signed-note checkpoints, proofs,
// the group-commit appender, the verifier and the static server. It imports nothing of the
// project but basics, so it can be lifted out as its own package.
export { TlogError, TLOG_ERROR_CODES } from './errors.ts';
export type { TlogErrorCode } from './errors.ts';
export { HASH_SIZE, leafHash, nodeHash, emptyRoot, equalBytes } from './hash.ts';
export type { Hash } from './hash.ts';
export {
  TILE_HEIGHT,
  TILE_WIDTH,
  tilePath,
  entriesPath,
  parseTilePath,
  encodeTileIndex,
} from './tile-path.ts';
export type { TileCoordinates } from './tile-path.ts';
export { canonicalJson, canonicalJsonBytes } from './canonical-json.ts';
export type { JsonValue } from './canonical-json.ts';
export {
  formatCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  signCheckpointAsync,
  verifyCheckpoint,
  openCheckpoint,
  isValidOrigin,
} from './checkpoint.ts';
export type { Checkpoint, OpenedCheckpoint, VerifyCheckpointOptions } from './checkpoint.ts';
export {
  signNote,
  signNoteAsync,
  openNote,
  parseVerifierKey,
  formatVerifierKey,
  parseSignerKey,
  generateSignerKey,
  NOTE_KEY_TYPES,
} from './note.ts';
export type { NoteSigner, NoteVerifier, NoteKeyType, OpenedNote } from './note.ts';
export { createLogKeys, loadLogKeys, LOG_KEY_FILES } from './keys.ts';
export type { LogKeys } from './keys.ts';
export { MAX_ENTRY_BYTES, encodeEntryBundle, decodeEntryBundle } from './entry-bundle.ts';
export { encodeTile, decodeTile } from './tile.ts';
export { subtreeRoot, tilesForSize, treeRoot, createHashReader } from './tree.ts';
export type { TileReader, HashReader } from './tree.ts';
export {
  inclusionProof,
  consistencyProof,
  verifyInclusion,
  verifyConsistency,
  rootFromInclusionProof,
} from './proof.ts';
export { openLogAppender, DEFAULT_MAX_BATCH_SIZE } from './appender.ts';
export type { LogAppender, LogAppenderOptions, LogIndex } from './appender.ts';
export {
  createFsTileReader,
  readEntryBundle,
  readCheckpointFile,
  durableWriteFile,
} from './driver/fs.ts';
export { verifyLog, directorySource, httpSource } from './verifier.ts';
export type { LogSource, VerifyLogOptions, VerifyReport } from './verifier.ts';
export { serveLog, handleLogRequest } from './serve.ts';
export type { ServeLogOptions } from './serve.ts';
