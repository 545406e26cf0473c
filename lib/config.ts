import * as z from 'zod';
import { DEFAULT_RETRY_POLICY } from './batch/index.ts';
import { LANES, type Lane } from './messages/index.ts';
import { POSTHOG_RATE_LIMITS } from './posthog/index.ts';

export { LANES, type Lane };

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) =>
  z.coerce.number().int().nonnegative().default(fallback);
const nonEmpty = z.string().trim().min(1, 'must not be empty');

/**
 * The function's environment, exactly as the infrastructure sets it (contract E). The PostHog key is never here:
 * only the id of the Secrets Manager secret that holds it.
 */
export const RuntimeEnvSchema = z
  .object({
    LANE: z.enum(LANES),
    POSTHOG_HOST: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    POSTHOG_PROJECT_ID: z.string().regex(/^\d+$/, 'must be a numeric project id'),
    POSTHOG_SECRET_ID: nonEmpty,
    POSTHOG_RATE_DELETE_PER_MINUTE: positiveInt(POSTHOG_RATE_LIMITS.deletePerMinute),
    POSTHOG_RATE_DELETE_PER_HOUR: positiveInt(POSTHOG_RATE_LIMITS.deletePerHour),
    POSTHOG_RATE_OTHER_PER_MINUTE: positiveInt(POSTHOG_RATE_LIMITS.otherPerMinute),
    POSTHOG_RATE_INSTANCES: positiveInt(1),
    /**
     * Only against a time-scaled PostHog emulator (`npm run bench`): the limiter's windows shrink by this factor
     * (a minute lasts 60 s / scale), exactly as the emulator's do, so the budgets stay PostHog's own. Unset in AWS.
     */
    POSTHOG_RATE_TIME_SCALE: z.coerce.number().positive().optional(),
    /** `update_property` (the Persons API) or `capture` (`$set`/`$unset` events) for property writes. */
    POSTHOG_PROPERTY_WRITES: z.enum(['update_property', 'capture']).default('update_property'),
    /**
     * The shared state table (DynamoDB): the fleet-wide rate budget and the erasure tombstones. Unset = no shared
     * state: each instance holds `budget / POSTHOG_RATE_INSTANCES` and capture writes are not checked for erasure.
     */
    RELAY_STATE_TABLE_NAME: nonEmpty.optional(),
    /** A shared-budget round trip slower than this falls back to the per-instance share. */
    RATE_BUDGET_STORE_TIMEOUT_MS: positiveInt(250),
    /** How long a distinct id deleted by the deletions lane stays protected from capture writes. */
    TOMBSTONE_TTL_DAYS: z.coerce.number().positive().default(30),
    POSTHOG_TIMEOUT_MS: positiveInt(10_000),
    POSTHOG_MAX_RETRIES: nonNegativeInt(2),
    DLQ_URL: z.url({ error: 'must be the URL of the dead-letter queue' }),
    QUEUE_URL: z.url({ error: 'must be the URL of the source queue' }),
    SECRET_MAX_AGE_SECONDS: positiveInt(300),
    /** First retry delay; doubles with every receive. */
    RETRY_BASE_DELAY_SECONDS: positiveInt(DEFAULT_RETRY_POLICY.baseDelaySeconds),
    /** Ceiling of the exponential backoff (a Retry-After may still ask for longer, up to SQS's 12 h). */
    RETRY_MAX_DELAY_SECONDS: positiveInt(DEFAULT_RETRY_POLICY.maxDelaySeconds),
    /** Time kept back from the Lambda timeout: no PostHog call starts later than this before the end. */
    DEADLINE_SAFETY_MARGIN_MS: nonNegativeInt(5_000),
    /**
     * The source queue's redrive maxReceiveCount: a message failing on its own at its last delivery is
     * dead-lettered by the function with its reason (`retries_exhausted`). Unset = left to SQS.
     */
    REDRIVE_MAX_RECEIVE_COUNT: z.coerce.number().int().positive().optional(),
    POWERTOOLS_SERVICE_NAME: nonEmpty.default('persons-relay'),
    POWERTOOLS_METRICS_NAMESPACE: nonEmpty.default('PersonsRelay'),
    POWERTOOLS_LOG_LEVEL: z
      .enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL'])
      .default('INFO'),
    AWS_REGION: nonEmpty.default('us-east-1'),
  })
  .refine((env) => env.RETRY_MAX_DELAY_SECONDS >= env.RETRY_BASE_DELAY_SECONDS, {
    path: ['RETRY_MAX_DELAY_SECONDS'],
    message: 'must be at least RETRY_BASE_DELAY_SECONDS',
  })
  .refine((env) => env.RETRY_MAX_DELAY_SECONDS <= 43_200, {
    path: ['RETRY_MAX_DELAY_SECONDS'],
    message: "must be at most 43200 (SQS's 12 hour visibility limit)",
  });

/** The parsed, typed, frozen configuration of one handler. */
export interface Config {
  readonly lane: Lane;
  readonly posthog: {
    readonly host: string;
    readonly projectId: number;
    readonly secretId: string;
    readonly secretMaxAgeSeconds: number;
    readonly propertyWrites: 'update_property' | 'capture';
    readonly timeoutMs: number;
    readonly maxRetries: number;
    readonly rateLimits: {
      readonly deletePerMinute: number;
      readonly deletePerHour: number;
      readonly otherPerMinute: number;
      readonly instances: number;
      /** See `POSTHOG_RATE_TIME_SCALE`; absent against real PostHog. */
      readonly timeScale?: number;
    };
  };
  readonly queues: { readonly queueUrl: string; readonly dlqUrl: string; readonly region: string };
  /** The shared state table; absent when `RELAY_STATE_TABLE_NAME` is unset. */
  readonly sharedState?: {
    readonly tableName: string;
    readonly storeTimeoutMs: number;
    readonly tombstoneTtlDays: number;
  };
  readonly retry: {
    readonly baseDelaySeconds: number;
    readonly maxDelaySeconds: number;
    readonly deadlineSafetyMarginMs: number;
    readonly maxReceiveCount?: number | undefined;
  };
  readonly powertools: {
    readonly serviceName: string;
    readonly metricsNamespace: string;
    readonly logLevel: string;
  };
}

/** Thrown at cold start when the environment is incomplete or wrong; the message names every bad variable. */
export class ConfigError extends Error {
  /** One entry per bad variable: `NAME: reason`. */
  public readonly problems: string[];

  public constructor(problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parses the environment once, at cold start, into a frozen {@link Config}. Fails fast with a
 * {@link ConfigError} that names each missing or invalid variable, so a misconfigured function never
 * takes a message.
 *
 * @example
 * const config = loadConfig(process.env, { lane: 'deletions' });
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  expect?: { lane?: Lane },
): Config {
  // Empty strings count as unset: CDK and shells often export `X=` for "not given".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = RuntimeEnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        const reason =
          // Every optional variable has a default, so an issue on an absent one means it is required.
          issue.path.length === 1 && !(name in present) ? 'is required' : issue.message;
        return `${name}: ${reason}`;
      }),
    );
  }
  const e = parsed.data;
  if (expect?.lane !== undefined && e.LANE !== expect.lane) {
    throw new ConfigError([
      `LANE: is '${e.LANE}' but this function serves the '${expect.lane}' lane`,
    ]);
  }
  return deepFreeze({
    lane: e.LANE,
    posthog: {
      host: e.POSTHOG_HOST.replace(/\/+$/, ''),
      projectId: Number(e.POSTHOG_PROJECT_ID),
      secretId: e.POSTHOG_SECRET_ID,
      secretMaxAgeSeconds: e.SECRET_MAX_AGE_SECONDS,
      propertyWrites: e.POSTHOG_PROPERTY_WRITES,
      timeoutMs: e.POSTHOG_TIMEOUT_MS,
      maxRetries: e.POSTHOG_MAX_RETRIES,
      rateLimits: {
        deletePerMinute: e.POSTHOG_RATE_DELETE_PER_MINUTE,
        deletePerHour: e.POSTHOG_RATE_DELETE_PER_HOUR,
        otherPerMinute: e.POSTHOG_RATE_OTHER_PER_MINUTE,
        instances: e.POSTHOG_RATE_INSTANCES,
        ...(e.POSTHOG_RATE_TIME_SCALE === undefined
          ? {}
          : { timeScale: e.POSTHOG_RATE_TIME_SCALE }),
      },
    },
    queues: { queueUrl: e.QUEUE_URL, dlqUrl: e.DLQ_URL, region: e.AWS_REGION },
    ...(e.RELAY_STATE_TABLE_NAME === undefined
      ? {}
      : {
          sharedState: {
            tableName: e.RELAY_STATE_TABLE_NAME,
            storeTimeoutMs: e.RATE_BUDGET_STORE_TIMEOUT_MS,
            tombstoneTtlDays: e.TOMBSTONE_TTL_DAYS,
          },
        }),
    retry: {
      baseDelaySeconds: e.RETRY_BASE_DELAY_SECONDS,
      maxDelaySeconds: e.RETRY_MAX_DELAY_SECONDS,
      deadlineSafetyMarginMs: e.DEADLINE_SAFETY_MARGIN_MS,
      maxReceiveCount: e.REDRIVE_MAX_RECEIVE_COUNT,
    },
    powertools: {
      serviceName: e.POWERTOOLS_SERVICE_NAME,
      metricsNamespace: e.POWERTOOLS_METRICS_NAMESPACE,
      logLevel: e.POWERTOOLS_LOG_LEVEL,
    },
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}
