import * as z from 'zod';
import {
  AUTH0_DEFAULT_DISTINCT_ID,
  CLERK_DEFAULT_DISTINCT_ID,
  type DistinctIdRule,
  HUBSPOT_DEFAULT_DISTINCT_ID,
  OKTA_DEFAULT_DISTINCT_ID,
  STRIPE_DEFAULT_DISTINCT_ID,
  WEBHOOK_PROVIDERS,
  type WebhookProvider,
} from '../adapters/index.ts';

/** The default distinct-id rule of each webhook provider (overridable per provider through the environment). */
export const DEFAULT_DISTINCT_ID_RULES: Readonly<Record<WebhookProvider, DistinctIdRule>> = {
  stripe: STRIPE_DEFAULT_DISTINCT_ID,
  hubspot: HUBSPOT_DEFAULT_DISTINCT_ID,
  clerk: CLERK_DEFAULT_DISTINCT_ID,
  auth0: AUTH0_DEFAULT_DISTINCT_ID,
  okta: OKTA_DEFAULT_DISTINCT_ID,
};

/**
 * The largest webhook body accepted: 1 MiB. HubSpot batches at most 100 events and Auth0 log streams send
 * batches too, each far below this; the commands they become must each fit SQS's 256 KiB anyway.
 */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** One provider's settings: its signing secret's id (unset = the route answers 404) and its distinct-id rule. */
export interface ProviderConfig {
  readonly secretId: string | undefined;
  readonly distinctId: DistinctIdRule;
}

/** The ingress function's configuration, parsed once at cold start. */
export interface IngressConfig {
  readonly region: string;
  readonly deletionsQueueUrl: string;
  readonly changesQueueUrl: string;
  readonly providers: Readonly<Record<WebhookProvider, ProviderConfig>>;
  readonly maxBodyBytes: number;
  readonly secretMaxAgeSeconds: number;
  /**
   * The public URL HubSpot posts to, when the function cannot see it (a proxy or CDN in front rewrites `Host`).
   * HubSpot signs the URL it called; by default it is rebuilt from the request.
   */
  readonly hubspotUrl: string | undefined;
  readonly powertools: { serviceName: string; metricsNamespace: string; logLevel: string };
}

/** The env variable suffix of a provider: `WEBHOOK_SECRET_STRIPE`, `WEBHOOK_DISTINCT_ID_FIELDS_AUTH0`... */
export const envSuffix = (provider: WebhookProvider): string => provider.toUpperCase();

const csv = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  )
  .pipe(
    z
      .array(z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'must be dotted paths'))
      .min(1),
  );

const CommonEnvSchema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  DELETIONS_QUEUE_URL: z.url({ error: 'must be the URL of the deletions queue' }),
  CHANGES_QUEUE_URL: z.url({ error: 'must be the URL of the changes FIFO queue' }),
  WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
  WEBHOOK_SECRET_MAX_AGE_SECONDS: z.coerce.number().int().positive().default(300),
  WEBHOOK_HUBSPOT_URL: z.url().optional(),
  POWERTOOLS_SERVICE_NAME: z.string().min(1).default('persons-relay-ingress'),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('PersonsRelay'),
  POWERTOOLS_LOG_LEVEL: z
    .enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'])
    .default('INFO'),
});

const ProviderEnvSchema = z.object({
  secretId: z.string().trim().min(1).optional(),
  fields: csv.optional(),
  prefix: z.string().max(100).default(''),
});

/**
 * Parses the ingress environment. Throws one `Error` naming every bad variable (so a bad deployment fails the
 * cold start with the variable's name). Per provider: `WEBHOOK_SECRET_<P>` (secret id),
 * `WEBHOOK_DISTINCT_ID_FIELDS_<P>` (comma-separated dotted paths) and `WEBHOOK_DISTINCT_ID_PREFIX_<P>`.
 */
export function loadIngressConfig(
  env: Readonly<Record<string, string | undefined>>,
): IngressConfig {
  const present = (value: string | undefined) => (value === '' ? undefined : value);
  const problems: string[] = [];
  const common = CommonEnvSchema.safeParse(
    Object.fromEntries(Object.keys(CommonEnvSchema.shape).map((key) => [key, present(env[key])])),
  );
  if (!common.success) {
    problems.push(
      ...common.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const providers = {} as Record<WebhookProvider, ProviderConfig>;
  for (const provider of WEBHOOK_PROVIDERS) {
    const suffix = envSuffix(provider);
    const names = {
      secretId: `WEBHOOK_SECRET_${suffix}`,
      fields: `WEBHOOK_DISTINCT_ID_FIELDS_${suffix}`,
      prefix: `WEBHOOK_DISTINCT_ID_PREFIX_${suffix}`,
    };
    const parsed = ProviderEnvSchema.safeParse({
      secretId: present(env[names.secretId]),
      fields: present(env[names.fields]),
      prefix: env[names.prefix] ?? '',
    });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const key = String(issue.path[0] ?? '') as keyof typeof names;
        problems.push(`${names[key] ?? key}: ${issue.message}`);
      }
      continue;
    }
    const defaults = DEFAULT_DISTINCT_ID_RULES[provider];
    providers[provider] = {
      secretId: parsed.data.secretId,
      distinctId: {
        paths: parsed.data.fields ?? defaults.paths,
        prefix: parsed.data.prefix === '' ? defaults.prefix : parsed.data.prefix,
      },
    };
  }
  if (!common.success || problems.length > 0) {
    throw new Error(`Invalid ingress environment: ${problems.join('; ')}`);
  }
  const data = common.data;
  return Object.freeze({
    region: data.AWS_REGION,
    deletionsQueueUrl: data.DELETIONS_QUEUE_URL,
    changesQueueUrl: data.CHANGES_QUEUE_URL,
    providers,
    maxBodyBytes: data.WEBHOOK_MAX_BODY_BYTES,
    secretMaxAgeSeconds: data.WEBHOOK_SECRET_MAX_AGE_SECONDS,
    hubspotUrl: data.WEBHOOK_HUBSPOT_URL,
    powertools: {
      serviceName: data.POWERTOOLS_SERVICE_NAME,
      metricsNamespace: data.POWERTOOLS_METRICS_NAMESPACE,
      logLevel: data.POWERTOOLS_LOG_LEVEL,
    },
  });
}
