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
