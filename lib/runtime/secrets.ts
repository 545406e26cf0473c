import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import * as z from 'zod';

/** The JSON stored in the Secrets Manager secret named by `POSTHOG_SECRET_ID`. */
export const PostHogSecretSchema = z.object({
  personalApiKey: z.string().min(1),
  projectToken: z.string().min(1).optional(),
});

/** PostHog credentials read from the secret. */
export type PostHogSecret = z.output<typeof PostHogSecretSchema>;

/**
 * Fetches the raw secret (parsed JSON). The seam for tests and local runs: Lambda uses
 * {@link powertoolsFetchSecret}; a test passes a plain async function, with no module mocking.
 */
export type FetchSecret = (
  secretId: string,
  options: { maxAgeSeconds: number },
) => Promise<unknown>;

/**
 * Powertools Parameters `getSecret` with JSON transform and a deliberate `maxAge`: Powertools keeps the
 * value in memory for `maxAgeSeconds`, so a warm function calls Secrets Manager at most once per period,
 * and a rotated key is picked up within that period without a redeploy. The SDK client honours
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER`, which is how the local runner points it at a loopback stub.
 */
export const powertoolsFetchSecret: FetchSecret = (secretId, { maxAgeSeconds }) =>
  getSecret(secretId, { maxAge: maxAgeSeconds, transform: 'json' });

/** Thrown when the secret cannot be read or has the wrong shape. It never includes the secret's value. */
export class SecretError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SecretError';
  }
}

/**
 * Returns a function that yields the validated PostHog credentials. Caching is the fetcher's job
 * (Powertools caches for `maxAgeSeconds`), so calling it once per invocation is cheap.
 */
export function createSecretSource(options: {
  secretId: string;
  maxAgeSeconds: number;
  fetchSecret?: FetchSecret;
}): () => Promise<PostHogSecret> {
  const fetchSecret = options.fetchSecret ?? powertoolsFetchSecret;
  return async () => {
    let raw: unknown;
    try {
      raw = await fetchSecret(options.secretId, { maxAgeSeconds: options.maxAgeSeconds });
    } catch (error) {
      throw new SecretError(`could not read secret ${options.secretId}`, { cause: error });
    }
    const parsed = PostHogSecretSchema.safeParse(raw);
    if (!parsed.success) {
      // Name the fields only; the value itself must never reach a log.
      const fields = parsed.error.issues
        .map((issue) => issue.path.join('.') || '(root)')
        .join(', ');
      throw new SecretError(
        `secret ${options.secretId} must be JSON {personalApiKey, projectToken?}; bad: ${fields}`,
      );
    }
    return parsed.data;
  };
}
