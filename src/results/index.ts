// Election results: the model every format is read into, ingest, aggregation with ballot-secrecy
// suppression, and signed publications in the log. Other modules import only this file.
export {
  ANOMALY_CODES,
  CONTEST_KINDS,
  RESULTS_FORMATS,
  SMALL_UNIT_BALLOTS,
  UNIT_LEVELS,
  VOTE_MODES,
} from './model.ts';
export type {
  Anomaly,
  AnomalyCode,
  Choice,
  Contest,
  ContestKind,
  Count,
  Election,
  ReportingUnit,
  ResultsDocument,
  ResultsFormat,
  SourcePosition,
  UnitLevel,
  VoteMode,
} from './model.ts';
export { NON_VOTE_KINDS } from './model.ts';
export type {
  ChoiceWithTally,
  NameMappings,
  NonVoteKind,
  ReadResultsOptions,
  ResultsDocumentWithTurnout,
  UnitTurnout,
} from './model.ts';
export { RESULTS_ERROR_CODES, ResultsError } from './errors.ts';
export type { ResultsErrorCode } from './errors.ts';
export {
  DEFAULT_MAPPINGS,
  MAPPINGS_FILE,
  NameMappingsSchema,
  loadNameMappings,
  mappingKey,
  mappingTable,
  parseNameMappings,
} from './mappings.ts';
export type { MappingTable } from './mappings.ts';
export { MAX_RESULTS_FILE_BYTES } from './csv.ts';
export {
  ELECTION_ID_PATTERN,
  OPENELECTIONS_MODE_COLUMNS,
  electionFromFileName,
  parseOpenElectionsCsv,
  readOpenElectionsCsv,
} from './openelections.ts';
export { MEDSL_MODES, generalElectionDate, parseMedslCsv, readMedslCsv } from './medsl.ts';
export { MAX_ZIP_ENTRY_BYTES, readZip } from './zip.ts';
export type { ZipEntry } from './zip.ts';
export { RESULTS_READERS, detectFormat, detectFormatOfBytes, readResultsFile } from './formats.ts';
export type { ResultsReader } from './formats.ts';
export { RESULTS_MIGRATIONS } from './schema.ts';
export type { ResultsTables } from './schema.ts';
export { importResults, loadElection } from './store.ts';
export type { ElectionData, ImportReport, ImportResultsOptions, StoredFile } from './store.ts';
export {
  PERCENT_DECIMALS,
  PERCENT_ROUNDING,
  RESULTS_VIEWS,
  SUPPRESSION_REASONS,
  contestResults,
  electionResults,
  roundedPercent,
} from './aggregate.ts';
export type {
  AggregateOptions,
  ChoiceTotal,
  ContestResults,
  ElectionResults,
  NonVoteTotal,
  ResultsData,
  ResultsView,
  SuppressionReason,
  TurnoutFigures,
  UnitRow,
} from './aggregate.ts';
export {
  PUBLICATION_ENTRY_TYPE,
  SNAPSHOT_FORMAT,
  buildSnapshot,
  diffSnapshots,
  latestPublication,
  publicationHistory,
  publishResults,
  readPublication,
  verifyPublication,
} from './publish.ts';
export type {
  ChoiceChange,
  ContestChange,
  Publication,
  PublicationEntry,
  PublicationSummary,
  PublishOptions,
  PublishReport,
  PublishedSnapshot,
  VerifyPublicationOptions,
  VerifyPublicationReport,
} from './publish.ts';
export { publishedElections } from './published.ts';
export type { PublishedElection } from './published.ts';
export { clarityVoteMode, readClarityXml } from './clarity.ts';
export {
  CDF_ID_TYPES,
  cdfUnitLevel,
  cdfVoteMode,
  parseNistCdfJson,
  readNistCdfJson,
  readNistCdfXml,
} from './nist-cdf.ts';
export {
  CDF_RESULTS_STATUSES,
  CDF_V2_NAMESPACE,
  toNistCdfJson,
  toNistCdfXml,
} from './cdf-export.ts';
export type { CdfExportOptions, CdfResultsStatus } from './cdf-export.ts';
export { DEFAULT_MAX_XML_BYTES } from './xml.ts';
export type { XmlResultsOptions } from './xml.ts';
