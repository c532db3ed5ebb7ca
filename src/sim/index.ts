export type { Clock } from "../domain/clock.js";
export { ManualClock, realClock, scaledClock } from "./clock.js";
export type {
  Dimension,
  GetMetricDataOutput,
  ListMetricsOutput,
  MetricKey,
  Statistic,
} from "./cloudwatch.js";
export { STATISTICS } from "./cloudwatch.js";
export {
  loadSimConfigFile,
  parseSimConfigText,
  type SimConfig,
  type SimConfigResult,
  simConfigSchema,
} from "./config.js";
export type { Dialect } from "./dialects.js";
export { type AwsErrorShape, SimServiceError } from "./errors.js";
export {
  type FaultKind,
  FaultSchedule,
  type FaultSpec,
  FaultSpecError,
  type SimOperation,
} from "./faults.js";
export type { CopyRun, Episode, ModelState, ModelStateName } from "./fleet.js";
export {
  InProcessSimHandler,
  SimConnectionDroppedError,
  SimRequestAbortedError,
} from "./inProcess.js";
export type { Ledger, LedgerCopy, LedgerModel, LedgerRun, TimeRange } from "./ledger.js";
export { SimServerError } from "./server.js";
export {
  DEFAULT_SIM_SETTINGS,
  EVICTION_RULES,
  type EvictionRule,
  type EvictionSettings,
  idleOutAt,
  parseImportedModelArn,
  resolveSimSettings,
  type SimModelSettings,
  type SimModelSpec,
  type SimSettings,
  SimSettingsError,
  shortestIdleMs,
} from "./settings.js";
export {
  BEDROCK_NAMESPACE,
  type CloudWatchOperation,
  type ImportedModelView,
  INVOCATIONS_METRIC,
  type InvokeAnswer,
  MODEL_COPY_METRIC,
  MODEL_DIMENSION,
  SimModelError,
  type SimResponse,
  type SimServer,
  Simulator,
  type SimulatorOptions,
} from "./simulator.js";
