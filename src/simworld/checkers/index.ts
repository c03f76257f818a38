// The public surface of the checkers: record client histories, export/import them as JSON
// Lines, and check linearizability, replica agreement and durability.
export type { HistoryEvent, HistoryScalar, HistoryValue, OperationFunction } from './history.ts';
export { HistoryRecorder, HISTORY_EVENTS_MAX_DEFAULT, type HistoryRecorderOptions } from './recorder.ts';
export {
  historyEventToJson,
  historyToJsonLines,
  parseHistoryJsonLines,
  validateEvent,
  HISTORY_LINES_MAX,
  HISTORY_LINE_CHARS_MAX,
  type HistoryParseError,
  type HistoryParseErrorKind,
  type HistoryParseResult,
} from './jsonl.ts';
export {
  operationsFromHistory,
  type HistoryShapeError,
  type HistoryShapeErrorKind,
  type Operation,
  type OperationStatus,
  type OperationsResult,
} from './operations.ts';
export { NOT_ALLOWED, stepRegister, type StepResult } from './register-model.ts';
export {
  checkHistoryLinearizable,
  checkLinearizable,
  describeOperation,
  SEARCH_STEPS_PER_KEY_MAX_DEFAULT,
  SEARCH_STEPS_TOTAL_MAX_DEFAULT,
  CACHE_ENTRIES_PER_KEY_MAX_DEFAULT,
  type HistoryCheckResult,
  type LinearizabilityOptions,
  type LinearizabilityResult,
  type NonLinearizableExplanation,
} from './linearizability.ts';
export {
  ReplicaAgreementChecker,
  describeAgreementViolation,
  AGREEMENT_INDICES_TRACKED_MAX_DEFAULT,
  AGREEMENT_VIOLATIONS_MAX_DEFAULT,
  type AgreementViolation,
  type AppliedStateRecord,
  type DecisionRecord,
  type Digest,
  type ReplicaAgreementOptions,
  type ReplicaClaim,
} from './replica-agreement.ts';
export {
  checkDurability,
  checkHistoryDurability,
  lastReadsPerKey,
  type DurabilityCheckResult,
  type DurabilityReport,
  type FinalRead,
  type LostWrite,
} from './durability.ts';
export { generateRegisterHistory, type HistoryGeneratorOptions } from './history-generator.ts';
