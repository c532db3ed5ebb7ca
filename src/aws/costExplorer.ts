import {
  type CostExplorerClient,
  GetCostAndUsageCommand,
  type GetCostAndUsageCommandOutput,
} from "@aws-sdk/client-cost-explorer";
import { AwsCallError } from "./errors.js";

export const GET_COST_AND_USAGE_ACTION = "ce:GetCostAndUsage";
/** Cost Explorer has one endpoint, in us-east-1, for every region's bill. */
export const COST_EXPLORER_REGION = "us-east-1";
/** What AWS charges for one GetCostAndUsage request (each page is one). */
export const COST_EXPLORER_REQUEST_USD = 0.01;
/** Cost Explorer's SERVICE dimension value of Amazon Bedrock, Custom Model Import included. */
export const BEDROCK_SERVICE = "Amazon Bedrock";

/** One UTC day of Bedrock's bill. */
export interface BilledDay {
  /** yyyy-MM-dd */
  readonly date: string;
  /** Cost Explorer says the figures may still change. */
  readonly estimated: boolean;
  /** UnblendedCost in USD by usage type; usage types without cost that day are absent. */
  readonly usdByUsageType: ReadonlyMap<string, number>;
}

export interface BilledDays {
  readonly days: readonly BilledDay[];
  /** GetCostAndUsage requests answered (pages included), each billed COST_EXPLORER_REQUEST_USD. */
  readonly requests: number;
}

/**
 * Bedrock's daily UnblendedCost and UsageQuantity by usage type over [start, end) (dates
 * yyyy-MM-dd, end exclusive) in one request and its pages. A refused call throws an
 * AwsCallError naming ce:GetCostAndUsage; `counted` has the pages answered before it.
 */
export async function readBilledDays(
  client: CostExplorerClient,
  range: { readonly start: string; readonly end: string },
  counted: { requests: number } = { requests: 0 },
): Promise<BilledDays> {
  const days: BilledDay[] = [];
  let token: string | undefined;
  do {
    let page: GetCostAndUsageCommandOutput;
    try {
      page = await client.send(
        new GetCostAndUsageCommand({
          TimePeriod: { Start: range.start, End: range.end },
          Granularity: "DAILY",
          Metrics: ["UnblendedCost", "UsageQuantity"],
          Filter: { Dimensions: { Key: "SERVICE", Values: [BEDROCK_SERVICE] } },
          GroupBy: [{ Type: "DIMENSION", Key: "USAGE_TYPE" }],
          ...(token ? { NextPageToken: token } : {}),
        }),
      );
    } catch (error) {
      throw new AwsCallError(GET_COST_AND_USAGE_ACTION, "*", error, {
        invalid: "the date range asked of Cost Explorer (--from, --to)",
      });
    }
    counted.requests++;
    for (const result of page.ResultsByTime ?? []) {
      const date = result.TimePeriod?.Start;
      if (date === undefined) continue;
      const usdByUsageType = new Map<string, number>();
      for (const group of result.Groups ?? []) {
        const usageType = group.Keys?.[0];
        const amount = Number(group.Metrics?.UnblendedCost?.Amount);
        if (usageType === undefined || !Number.isFinite(amount)) continue;
        usdByUsageType.set(usageType, (usdByUsageType.get(usageType) ?? 0) + amount);
      }
      days.push({ date, estimated: result.Estimated ?? true, usdByUsageType });
    }
    token = page.NextPageToken;
  } while (token);
  return { days, requests: counted.requests };
}
