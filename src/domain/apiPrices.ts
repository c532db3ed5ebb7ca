/**
 * What keepwarm's own AWS calls cost (docs/costs.md repeats it with the sources). InvokeModel
 * pings are billed as model usage, already in each model's spend; GetImportedModel and STS
 * calls are free. Prices change: this is the one place to update.
 */
export const API_PRICES = Object.freeze({
  asOf: "2026-12-01",
  /** CloudWatch: "GetMetricData: $0.01 per 1,000 metrics requested" (each query of a call). */
  getMetricDataUsdPerMetric: 0.01 / 1_000,
  /** CloudWatch: other API requests (ListMetrics) $0.01 per 1,000; the free tier is the account's, not counted. */
  listMetricsUsdPerRequest: 0.01 / 1_000,
  /** Cost Explorer: $0.01 per API request (GetCostAndUsage). */
  costExplorerUsdPerRequest: 0.01,
  sources: [
    "https://aws.amazon.com/cloudwatch/pricing/",
    "https://aws.amazon.com/aws-cost-management/aws-cost-explorer/pricing/",
  ],
});

/** keepwarm's billable AWS calls over some span. */
export interface ApiCounts {
  readonly getMetricDataCalls: number;
  /** Queries of the GetMetricData calls that answered: what CloudWatch bills. */
  readonly metricsRequested: number;
  readonly listMetricsRequests: number;
  readonly costExplorerRequests: number;
}

export const NO_API_CALLS: ApiCounts = Object.freeze({
  getMetricDataCalls: 0,
  metricsRequested: 0,
  listMetricsRequests: 0,
  costExplorerRequests: 0,
});

/** USD the calls cost at API_PRICES. */
export function apiCostUsd(c: ApiCounts): number {
  return (
    c.metricsRequested * API_PRICES.getMetricDataUsdPerMetric +
    c.listMetricsRequests * API_PRICES.listMetricsUsdPerRequest +
    c.costExplorerRequests * API_PRICES.costExplorerUsdPerRequest
  );
}

export function addApiCounts(a: ApiCounts, b: ApiCounts): ApiCounts {
  return {
    getMetricDataCalls: a.getMetricDataCalls + b.getMetricDataCalls,
    metricsRequested: a.metricsRequested + b.metricsRequested,
    listMetricsRequests: a.listMetricsRequests + b.listMetricsRequests,
    costExplorerRequests: a.costExplorerRequests + b.costExplorerRequests,
  };
}
