export type { Clock } from "../domain/clock.js";
export {
  BEDROCK_NAMESPACE,
  CLIENT_ERRORS_METRIC,
  INVOCATIONS_METRIC,
  MODEL_COPY_METRIC,
  MODEL_DIMENSION,
  THROTTLES_METRIC,
} from "./bedrockMetrics.js";
export { ManualClock, realClock, scaledClock } from "./clock.js";
export type { ListMetricsOutput } from "./cloudwatch.js";
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
export type { GetMetricDataOutput } from "./getMetricData.js";
export {
  InProcessSimHandler,
  SimConnectionDroppedError,
  SimRequestAbortedError,
} from "./inProcess.js";
export type { Ledger, LedgerCopy, LedgerModel, LedgerRun, TimeRange } from "./ledger.js";
export { type Dimension, type MetricKey, STATISTICS, type Statistic } from "./metrics.js";
export { type SimServer, SimServerError } from "./server.js";
export type {
  CloudWatchOperation,
  ImportedModelView,
  InvokeAnswer,
  SimResponse,
} from "./service.js";
export {
  COLD_CALL_METRICS,
  type ColdCallMetric,
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
export { SimModelError, Simulator, type SimulatorOptions } from "./simulator.js";
export { userCallsOfDay } from "./traffic.js";
export type { TrafficProfile, TrafficRate } from "./trafficProfile.js";
export type { UserCallCounts } from "./users.js";
