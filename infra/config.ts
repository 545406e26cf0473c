/**
 * Deployment configuration of persons-relay, read once from CDK context (`cdk.json` or `-c key=value`).
 *
 * zod is the single source of truth: every key, its default and its validation live in `InfraContextSchema`,
 * and the configuration table in docs/deploy.md is written from it. `-c` values arrive as strings, so numbers are
 * coerced and lists accept either a JSON array (cdk.json) or a comma-separated string (command line).
 */
import type { Node } from 'constructs';
import * as z from 'zod';
import { WEBHOOK_PROVIDERS } from '#lib/adapters/types.ts';
import { COMMAND_TYPES, laneOfType } from '#lib/messages/index.ts';
import { POSTHOG_RATE_LIMITS } from '#lib/posthog/index.ts';

// PostHog's personal-API-key limits (docs/posthog-api.md §1.5): one definition, the client's.
export { POSTHOG_RATE_LIMITS };

/** The command types each lane carries, from the contract's own lane rule. */
export const LANE_COMMAND_TYPES = {
  deletions: Object.values(COMMAND_TYPES).filter((type) => laneOfType(type) === 'deletions'),
  changes: Object.values(COMMAND_TYPES).filter((type) => laneOfType(type) === 'changes'),
} as const;

const csv = z
  .union([z.array(z.string()), z.string()])
  .transform((value) =>
    (Array.isArray(value) ? value : value.split(','))
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );
const positiveInt = z.coerce.number().int().positive();
const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const principalArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/.+|user\/.+)$/,
    'must be an IAM role, user or root ARN',
  );

// Per-provider strings: a JSON object in cdk.json, or the same object as a JSON string with -c.
const perProvider = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  },
  z.partialRecord(z.enum(WEBHOOK_PROVIDERS), z.string()),
);

/** Every context key the app reads, with its default. */
export const InfraContextSchema = z.object({
  /** Pins the stacks to an account. Unset = environment-agnostic (synth needs no credentials or lookups). */
  account: accountId.optional(),
  /** Pins the stacks to a region. Unset = environment-agnostic. */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region like eu-west-1')
    .optional(),
  /** Prefix of the stack names: `<prefix>` and `<prefix>-Monitoring`. */
  stackPrefix: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,60}$/, 'must be a valid stack name prefix')
    .default('PersonsRelay'),
  /** PostHog app host (the Persons API). Capture host is derived from it by the client. */
  posthogHost: z
    .string()
    .url()
    .regex(/^https:\/\//, 'must be an https URL')
    .default('https://us.posthog.com'),
  /**
   * PostHog project id. Unset = the stack deploys with its event sources **disabled** (queues accept and keep
   * messages, nothing calls PostHog) and synth prints a warning.
   */
  posthogProjectId: z.coerce.string().regex(/^\d+$/, 'must be a numeric project id').optional(),
  /** ARN of an existing secret holding `{"personalApiKey","projectToken"}`. Unset = the stack creates one. */
  posthogSecretArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, 'must be a secret ARN')
    .optional(),
  /**
   * ARN of the customer managed KMS key an imported `posthogSecretArn` is encrypted with. The functions then get
   * `kms:Decrypt` on that key, only through Secrets Manager (`kms:ViaService`). Unset = the secret uses the AWS
   * managed key `aws/secretsmanager`, which needs no grant.
   */
  posthogSecretKmsKeyArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
      'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>, not an alias)',
    )
    .optional(),
  /** Delete-endpoint budget per minute shared by all deletions-lane instances. */
  rateDeletePerMinute: positiveInt.default(POSTHOG_RATE_LIMITS.deletePerMinute),
  /** Delete-endpoint budget per hour shared by all deletions-lane instances. */
  rateDeletePerHour: positiveInt.default(POSTHOG_RATE_LIMITS.deletePerHour),
  /** Other-endpoint budget per minute shared by all changes-lane instances. */
  rateOtherPerMinute: positiveInt.default(POSTHOG_RATE_LIMITS.otherPerMinute),
  /**
   * How the changes lane writes person properties (the functions' `POSTHOG_PROPERTY_WRITES`): `update_property`
   * (one rate-limited Persons API call per person and key; needs only the personal key) or `capture` (`$set`/`$unset`
   * events in one `/batch/` call for many persons; far fewer calls, needs `projectToken` in the secret, and a `$set`
   * for a distinct id PostHog no longer knows creates a person).
   */
  propertyWrites: z.enum(['update_property', 'capture']).default('update_property'),
  /** Expected duration of one PostHog call in seconds, used to size `maxConcurrency` (see `rate-budget.ts`). */
  expectedCallSeconds: z.coerce.number().positive().max(60).default(2),
  /** Overrides the derived `maxConcurrency` of the deletions lane (2–1000). */
  deletionsMaxConcurrency: positiveInt.min(2).max(1000).optional(),
  /** Overrides the derived `maxConcurrency` of the changes lane (2–1000). */
  changesMaxConcurrency: positiveInt.min(2).max(1000).optional(),
  /** Email address subscribed to the alarm topic (a confirmation mail is sent on deploy). */
  alarmEmail: z.email().optional(),
  /** Alarm when the oldest message in a source queue is older than this many seconds. */
  oldestMessageAgeAlarmSeconds: positiveInt.default(3600),
  /**
   * Alarm when a message has been in a dead-letter queue longer than this many seconds (at most 5 days: a
   * standard DLQ message may have only 7 days left when it arrives, see `MAX_DEAD_LETTER_AGE_ALARM`).
   */
  deadLetterAgeAlarmSeconds: positiveInt.max(5 * 86_400).default(2 * 86_400),
  /** 12-digit account ids whose principals may send to both queues (their own IAM must allow it too). */
  producerAccountIds: csv.pipe(z.array(accountId)).default([]),
  /** IAM role/user ARNs that may send to both queues. */
  producerPrincipalArns: csv.pipe(z.array(principalArn)).default([]),
  /**
   * AWS Organizations ids (`o-…`): every principal of an account in one of these organizations may send to both
   * queues (`aws:PrincipalOrgID`); their own IAM policies must allow it too.
   */
  producerOrganizationIds: csv
    .pipe(z.array(z.string().regex(/^o-[a-z0-9]{10,32}$/, 'must be an organization id (o-…)')))
    .default([]),
  /** Name of an event bus in this account to route commands from. Unset = no EventBridge rules. */
  eventBusName: z.string().min(1).optional(),
  /** `detail-type`s routed to the deletions lane. */
  deletionDetailTypes: csv.default([...LANE_COMMAND_TYPES.deletions]),
  /** `detail-type`s routed to the changes lane. */
  changeDetailTypes: csv.default([...LANE_COMMAND_TYPES.changes]),
  /** `RETAIN` keeps queues, DLQs and the created secret when the stack is deleted. */
  removalPolicy: z.enum(['RETAIN', 'DESTROY']).default('RETAIN'),
  /**
   * Webhook providers the ingress accepts (`stripe,hubspot,clerk,auth0,okta`): each gets a route target and a
   * signing secret. Empty = no ingress (docs/webhooks.md).
   */
  webhookProviders: csv.pipe(z.array(z.enum(WEBHOOK_PROVIDERS))).default([]),
  /** Steady-state requests per second of the webhook HTTP API stage. */
  webhookRateLimit: positiveInt.default(50),
  /** Burst of the webhook HTTP API stage. */
  webhookBurstLimit: positiveInt.default(100),
  /** Per provider, where the distinct id is: comma-separated dotted paths, e.g. `{"stripe":"metadata.uid,id"}`. */
  webhookDistinctIdFields: perProvider.default({}),
  /** Per provider, a prefix put before the distinct id, e.g. `{"hubspot":"hubspot-"}`. */
  webhookDistinctIdPrefixes: perProvider.default({}),
  /** Salesforce partner event bus (`aws.partner/salesforce.com/...`). Unset = no Salesforce CDC rules. */
  salesforceEventBusName: z
    .string()
    .regex(/^aws\.partner\/salesforce\.com\/.+/, 'must be a Salesforce partner event bus name')
    .optional(),
  /** Salesforce objects whose CDC deletions and merges are routed. */
  salesforceEntities: csv.default(['Contact', 'Lead']),
});

/** The validated deployment configuration. */
export type InfraConfig = z.output<typeof InfraContextSchema>;

/** Context keys, for documentation and tests. */
export const INFRA_CONTEXT_KEYS = Object.keys(InfraContextSchema.shape) as (keyof InfraConfig)[];

/**
 * Parses a plain object of context values (unknown keys ignored). Throws one `Error` naming every bad key.
 *
 * @example parseInfraConfig({ posthogProjectId: '12345', producerAccountIds: '111111111111,222222222222' })
 */
export function parseInfraConfig(values: Readonly<Record<string, unknown>>): InfraConfig {
  const present = Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = InfraContextSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(context)'}: ${issue.message}`,
    );
    throw new Error(`Invalid persons-relay context: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Reads every key of {@link InfraContextSchema} from the construct tree's context and parses it. */
export function infraConfigFromContext(node: Node): InfraConfig {
  return parseInfraConfig(
    Object.fromEntries(INFRA_CONTEXT_KEYS.map((key) => [key, node.tryGetContext(key)])),
  );
}
