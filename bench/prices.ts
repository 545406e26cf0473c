/**
 * Public AWS prices used for the cost estimates (US East (N. Virginia), first pricing tier, on-demand, USD).
 *
 * Sources, read 2026-12-02: https://aws.amazon.com/lambda/pricing/ and https://aws.amazon.com/sqs/pricing/. Those
 * pages render their rate tables client-side, so the figures were taken from transcriptions that quote them:
 * cloudchipr.com/blog/aws-lambda-pricing (x86 $0.0000166667 and Arm $0.0000133334 per GB-s, first tier) and
 * artillery's `lib/platform/aws-lambda/prices.js` (the same two rates, "base" region); cloudburn.io/blog/amazon-sqs-pricing
 * (March 2026: standard $0.40 and FIFO $0.50 per million requests, first tier) and factualminds.com (June 2026, same).
 * Free tiers (1M Lambda requests, 400,000 GB-s and 1M SQS requests a month) are left out: they do not scale.
 */
export const PRICES = {
  source:
    'aws.amazon.com/lambda/pricing and aws.amazon.com/sqs/pricing (us-east-1, first tier, read 2026-12-02)',
  lambdaPerMillionRequests: 0.2,
  lambdaPerGbSecond: { arm64: 0.0000133334, x86_64: 0.0000166667 },
  sqsPerMillionRequests: { standard: 0.4, fifo: 0.5 },
} as const;

/** What one side spent on one workload, in AWS units. */
export interface Usage {
  readonly messages: number;
  readonly invocations: number;
  readonly gbSeconds: number;
  readonly sqsRequests: { readonly standard: number; readonly fifo: number };
}

/** Dollars per million messages, on arm64 (what the stack deploys) and on x86_64. */
export function costPerMillionMessages(usage: Usage): { arm64: number; x86_64: number } {
  const perMessage = 1_000_000 / Math.max(1, usage.messages);
  const requests = (usage.invocations * PRICES.lambdaPerMillionRequests) / 1_000_000;
  const sqs =
    (usage.sqsRequests.standard * PRICES.sqsPerMillionRequests.standard +
      usage.sqsRequests.fifo * PRICES.sqsPerMillionRequests.fifo) /
    1_000_000;
  const of = (arch: keyof typeof PRICES.lambdaPerGbSecond) =>
    (requests + sqs + usage.gbSeconds * PRICES.lambdaPerGbSecond[arch]) * perMessage;
  return { arm64: of('arm64'), x86_64: of('x86_64') };
}
