import { ListMetricsCommand, type ListMetricsCommandOutput } from "@aws-sdk/client-cloudwatch";
import type { MetricSource } from "../domain/types.js";
import type { RegionClients } from "./clients.js";
import { AwsCallError } from "./errors.js";
import { getImportedModel, type ImportedModelInfo } from "./importedModel.js";

export const LIST_METRICS_ACTION = "cloudwatch:ListMetrics";

/** Which metric counts the copies of a model: namespace and metric name, any dimension. */
export interface CopyMetricName {
  readonly namespace: string;
  readonly metricName: string;
}

/** One imported model as CloudWatch and Bedrock describe it. */
export interface DiscoveredModel {
  /** What GetImportedModel was asked about: an ARN, or a metric's dimension value. */
  readonly identifier: string;
  /** Undefined when neither the metric nor GetImportedModel gave a full ARN. */
  readonly modelArn: string | undefined;
  /** The copy-count metric CloudWatch lists for it; undefined when it lists none. */
  readonly metric: MetricSource | undefined;
  /** Undefined when GetImportedModel failed; `problem` says why. */
  readonly info: ImportedModelInfo | undefined;
  readonly problem: string | undefined;
}

const ARN_PREFIX = "arn:aws:bedrock:";

/**
 * Every metric `name.metricName` in `name.namespace` that has exactly one dimension, pages
 * followed. CloudWatch lists a metric only while it has data from the last two weeks.
 */
export async function listCopyMetrics(
  clients: RegionClients,
  name: CopyMetricName,
): Promise<MetricSource[]> {
  const metrics: MetricSource[] = [];
  let nextToken: string | undefined;
  do {
    let page: ListMetricsCommandOutput;
    try {
      page = await clients.cloudwatch.send(
        new ListMetricsCommand({
          Namespace: name.namespace,
          MetricName: name.metricName,
          ...(nextToken !== undefined && { NextToken: nextToken }),
        }),
      );
    } catch (cause) {
      throw new AwsCallError(LIST_METRICS_ACTION, "*", cause);
    }
    for (const m of page.Metrics ?? []) {
      const [dimension, ...others] = m.Dimensions ?? [];
      if (!dimension?.Name || dimension.Value === undefined || others.length > 0) continue;
      metrics.push({
        namespace: m.Namespace ?? name.namespace,
        metricName: m.MetricName ?? name.metricName,
        dimensionName: dimension.Name,
        dimensionValue: dimension.Value,
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return metrics;
}

/** Whether a metric's dimension names this model, by full ARN or by its 12-character id. */
export function metricNamesModel(metric: MetricSource, modelArn: string): boolean {
  const id = modelArn.slice(modelArn.lastIndexOf("/") + 1);
  return metric.dimensionValue === modelArn || metric.dimensionValue === id;
}

/** One model: its copy-count metric (ARN match preferred over id match) and GetImportedModel. */
export async function discoverModel(
  clients: RegionClients,
  modelArn: string,
  name: CopyMetricName,
): Promise<DiscoveredModel> {
  const candidates = (await listCopyMetrics(clients, name)).filter((m) =>
    metricNamesModel(m, modelArn),
  );
  const metric = candidates.find((m) => m.dimensionValue === modelArn) ?? candidates[0];
  return describe(clients, modelArn, metric);
}

/**
 * Every model of the region that publishes the copy-count metric, in the order CloudWatch
 * lists them. One GetImportedModel at a time: its request quota is small.
 */
export async function discoverRegion(
  clients: RegionClients,
  name: CopyMetricName,
): Promise<DiscoveredModel[]> {
  const models: DiscoveredModel[] = [];
  for (const metric of await listCopyMetrics(clients, name)) {
    models.push(await describe(clients, metric.dimensionValue, metric));
  }
  return models;
}

async function describe(
  clients: RegionClients,
  identifier: string,
  metric: MetricSource | undefined,
): Promise<DiscoveredModel> {
  const known = identifier.startsWith(ARN_PREFIX) ? identifier : undefined;
  try {
    const info = await getImportedModel(clients, identifier);
    return { identifier, modelArn: known ?? info.modelArn, metric, info, problem: undefined };
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    return { identifier, modelArn: known, metric, info: undefined, problem };
  }
}
