// The voter roll: layouts and classification policies, synthetic files, the sealed record
// store, the lookup, aggregates, rotation and verification, and the importer.

export {
  FIELD_CLASSES,
  FIELD_ROLES,
  RESIDENCE_ROLES,
  MAILING_ROLES,
  CONTACT_ROLES,
  REPEATABLE_ROLES,
  MINIMUM_CLASS,
  DATE_ROLES,
  DATE_FORMATS,
  DELIMITERS,
  SHIPPED_LAYOUT_IDS,
  LAYOUT_ERROR_CODES,
  LayoutError,
  VoterLayoutSchema,
  parseLayout,
  INTERCHANGE_LAYOUT_IDS,
  loadLayout,
  shippedLayouts,
  layoutDialect,
  checkHeader,
  detectLayout,
  parseLayoutDate,
  formatLayoutDate,
  columnCodes,
  checkFields,
  isRecordConfidential,
  columnIndex,
  roleIndex,
} from './layout.ts';
export type {
  FieldClass,
  FieldRole,
  DateFormat,
  DelimiterName,
  LayoutFormat,
  CodeList,
  LayoutColumn,
  LayoutCounty,
  ExtraColumns,
  ConfidentialMarker,
  VoterLayout,
  ShippedLayoutId,
  LayoutErrorCode,
  HeaderCheck,
  DetectLayoutOptions,
  PartialDate,
  FieldIssueCode,
  FieldIssue,
} from './layout.ts';
export {
  DELIMITED_ISSUE_CODES,
  TEXT_ENCODINGS,
  DEFAULT_MAX_LINE_BYTES,
  parseDelimitedLine,
  DelimitedError,
  formatDelimitedRow,
  readDelimited,
} from './delimited.ts';
export type {
  DelimitedIssueCode,
  TextEncodingName,
  DelimitedDialect,
  DelimitedReadOptions,
  DelimitedFields,
  DelimitedInvalid,
  DelimitedRecord,
  LineParse,
  DelimitedWriteOptions,
  DelimitedErrorCode,
} from './delimited.ts';
export {
  DEFAULT_AS_OF,
  CONFIDENTIAL_SHARE,
  MAX_GENERATED_ROWS,
  GenerateError,
  createVoterGenerator,
  generateVoterFile,
} from './generate.ts';
export type {
  GenerateErrorCode,
  GenerateProgress,
  GenerateOptions,
  VoterGeneratorOptions,
  VoterGenerator,
} from './generate.ts';
export {
  VRI_LAYOUT_ID,
  DEFAULT_MAX_VRI_BYTES,
  DEFAULT_MAX_VRI_RECORDS,
  MAX_VRI_VALUE_LENGTH,
  VRI_COLUMNS,
  VRI_ERROR_CODES,
  VriError,
  VRI_ISSUE_CODES,
  VRI_RECORD_TYPES,
  normaliseVriDate,
  parseVriDocument,
  readVriRecords,
  loadVriLayout,
  VRI_EXPORT_CONTENTS,
  toVriExportRecord,
  toVriDocument,
} from './nist-vri.ts';
export type {
  VriColumn,
  VriErrorCode,
  VriIssueCode,
  VriRecordIssue,
  VriRecordFields,
  VriRecordRejected,
  VriRecordOutcome,
  VriRecordType,
  VriDocument,
  VriParseOptions,
  VriFieldValues,
  VriExportRecord,
  VriExportContents,
  VriExportOptions,
  VriJson,
  VriVoterRecordResults,
} from './nist-vri.ts';
export { VOTERS_MIGRATIONS } from './schema.ts';
export type {
  VoterRowTable,
  VoterLookupTable,
  VoterPollingPlaceTable,
  VoterKeyRotationTable,
  VotersTables,
} from './schema.ts';
export {
  VOTER_STORE_ERROR_CODES,
  VoterStoreError,
  VOTER_ROW_COLUMNS,
  prepareVoterRow,
  normaliseBirth,
  computeLookupDigests,
  asBuffer,
  parsePublicFields,
  storedBinding,
  openStoredRecord,
  sealedPlaintext,
  storedRowMac,
  existingVoters,
  writeVoterRows,
  touchVoters,
  markUnseenRemoved,
  readVoter,
  updateVoter,
  shredVoter,
} from './record.ts';
export type {
  VoterId,
  VoterStoreErrorCode,
  ExistingVoter,
  PreparedVoterRow,
  PrepareOutcome,
  SealedFields,
  BirthValue,
  LookupValues,
  StoredEnvelope,
  WriteContext,
  MarkUnseenOptions,
  VoterView,
  ReadVoterOptions,
  VoterChanges,
  UpdateVoterOptions,
  ShredReport,
  ShredVoterOptions,
} from './record.ts';
export {
  LOOKUP_DIGEST_COUNT,
  MAX_LOOKUP_BATCH,
  findVoter,
  lookupVoter,
  setPollingPlaces,
} from './lookup.ts';
export type {
  LookupQuery,
  PollingPlace,
  LookupAnswer,
  LookupResult,
  LookupLogEntry,
  LookupVoterOptions,
  PrecinctPollingPlace,
} from './lookup.ts';
export {
  MAX_SEARCH_OFFSET,
  MAX_SEARCH_RESULTS,
  searchVoters,
  voterJurisdiction,
} from './search.ts';
export type { SearchHit, SearchOptions, SearchQuery, SearchResult } from './search.ts';
export {
  SMALL_CELL_THRESHOLD,
  AGGREGATE_ATTRIBUTES,
  countByProtectedAttribute,
  suppressSmallCells,
} from './aggregate.ts';
export type {
  AggregateAttribute,
  AggregateRow,
  AggregateTable,
  CountOptions,
  Suppression,
} from './aggregate.ts';
export { ROTATION_BATCH_SIZE, rotateKeys } from './rotate.ts';
export type { RotationProgress, RotationSummary, RotateKeysOptions } from './rotate.ts';
export { VERIFY_REASONS, verifyStore } from './verify.ts';
export type { VerifyReason, RowProblem, VerifyStoreReport, VerifyStoreOptions } from './verify.ts';
export { EXPORT_MIGRATIONS } from './export-schema.ts';
export type { VoterExportTable, ExportTables } from './export-schema.ts';
export {
  EXPORT_ERROR_CODES,
  ExportError,
  MAX_PURPOSE_LENGTH,
  MAX_RECIPIENT_LENGTH,
  exportColumns,
  exportLayout,
  exportVoters,
} from './export.ts';
export type {
  ExportErrorCode,
  ExportLogEntry,
  ExportVotersOptions,
  ExportReport,
} from './export.ts';
export {
  DEFAULT_TRACE_ROWS,
  MATCH_SCORE,
  MIN_AGREEMENT,
  CANARY_SCORE,
  traceFile,
} from './trace.ts';
export type { TraceFileOptions, TraceCandidate, TraceReport } from './trace.ts';
export { MARK_SCHEME, MIN_CANARIES, MAX_CANARIES } from './watermark.ts';
export { IMPORT_MIGRATIONS, IMPORT_STATUSES } from './import/schema.ts';
export type { ImportStatus, VoterImportTable, ImportTables } from './import/schema.ts';
export {
  DEFAULT_BATCH_SIZE,
  IMPORT_LAYOUT_IDS,
  appendPendingLogEntries,
  defaultWorkers,
  importLogEntry,
  importVoterFile,
  listImports,
  resolveImportLayout,
} from './import/pipeline.ts';
export type {
  ImportCounts,
  ImportDatabase,
  ImportProgress,
  ImportReport,
  ImportVoterFileOptions,
  ResolvedLayout,
} from './import/pipeline.ts';
export { IMPORT_ERROR_CODES, ImportError } from './import/errors.ts';
export type { ImportErrorCode } from './import/errors.ts';
export {
  MAX_QUARANTINE_RAW_BYTES,
  QUARANTINE_DIR_MODE,
  QUARANTINE_FILE_MODE,
  quarantinePath,
  readQuarantine,
} from './import/quarantine.ts';
export type { QuarantineEntry } from './import/quarantine.ts';
export {
  PROGRESS_REDRAW_MS,
  createProgressBar,
  formatCount,
  formatDuration,
} from './import/progress.ts';
export type { ProgressBar, ProgressBarOptions } from './import/progress.ts';
export {
  IMPORT_THREAD_MARKER,
  importThreadResourceLimits,
  importVoterFileInThread,
} from './import/import-thread.ts';
export type { ImportInThreadOptions } from './import/import-thread.ts';
