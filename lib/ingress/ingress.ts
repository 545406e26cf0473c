import {
  type AdapterResult,
  isWebhookProvider,
  mapAuth0Events,
  mapClerkEvent,
  mapHubSpotEvents,
  mapOktaEvents,
  mapStripeEvent,
  parseAuth0Body,
  type WebhookProvider,
} from '../adapters/index.ts';
import { type CommandInput, CommandSchema, describeIssue, formatPath } from '../messages/index.ts';
import type { Producer } from '../producer/index.ts';
import type { RelayLogger } from '../runtime/logger.ts';
import type { IngressConfig } from './config.ts';
import { INGRESS_METRIC_NAMES, type IngressMetrics } from './metrics.ts';
import { type SignedRequest, verifySharedSecret, verifyWebhook } from './verify.ts';

/** Reads a provider's signing secret (cached by the caller for `WEBHOOK_SECRET_MAX_AGE_SECONDS`). */
export type WebhookSecretSource = (provider: WebhookProvider, secretId: string) => Promise<string>;

/** What {@link createWebhookIngress} needs. */
export interface WebhookIngressDeps {
  readonly config: IngressConfig;
  readonly producer: Producer;
  readonly getSecret: WebhookSecretSource;
  readonly logger: RelayLogger;
  readonly metrics: IngressMetrics;
  /** The clock signatures' timestamps are checked against. @default Date.now */
  readonly now?: () => number;
}

/** The provider-facing part of the ingress: one method per route. */
export interface WebhookIngress {
  /** `POST /webhooks/{provider}`: verify, map, enqueue. */
  receive(provider: string, request: Request): Promise<Response>;
  /** `GET /webhooks/okta`: Okta's one-time verification challenge. */
  challenge(provider: string, request: Request): Promise<Response>;
}

/**
 * Status codes of the ingress, and why:
 * - 200: every mapped command is on its queue (or the events were ignored);
 * - 400: the body is not JSON, not the provider's format, or maps to a command the contract refuses. Nothing is
 *   enqueued, the reason names the field;
 * - 401: missing or wrong signature/secret, or a timestamp outside the 5-minute window (a replay);
 * - 404: an unknown provider, or one without a configured secret; 405: a GET to a provider other than Okta;
 * - 413: the body is larger than `WEBHOOK_MAX_BODY_BYTES`;
 * - 500: the signing secret could not be read; 503: SQS did not take every command. Providers retry both, and
 *   the command ids (the upstream event ids) make the retry's commands duplicates of any that did get through.
 */
export const INGRESS_STATUS = {
  ok: 200,
  malformed: 400,
  unauthorized: 401,
  notFound: 404,
  methodNotAllowed: 405,
  tooLarge: 413,
  secretUnavailable: 500,
  enqueueFailed: 503,
} as const;

const json = (status: number, body: Readonly<Record<string, unknown>>): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/**
 * Creates the webhook ingress. Each request is verified with the provider's scheme before its body is parsed,
 * mapped by the provider's pure adapter, every command validated against the contract (so a bad payload enqueues
 * nothing), then sent through the producer to its lane.
 */
export function createWebhookIngress(deps: WebhookIngressDeps): WebhookIngress {
  return new WebhookIngressService(deps);
}

/** The mapped commands of a verified request, or the response refusing it. */
type Mapped = Extract<AdapterResult, { ok: true }> | Response;

class WebhookIngressService implements WebhookIngress {
  readonly #deps: WebhookIngressDeps;
  readonly #now: () => number;

  constructor(deps: WebhookIngressDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  async receive(providerName: string, request: Request): Promise<Response> {
    const authorised = await this.#authorise(providerName);
    if (authorised instanceof Response) return authorised;
    const { provider, secret } = authorised;
    const mapped = await this.#verifiedCommands(provider, secret, request);
    if (mapped instanceof Response) return mapped;
    const { logger, metrics } = this.#deps;
    metrics.count(INGRESS_METRIC_NAMES.ignored, mapped.ignored.length, { provider });
    for (const event of mapped.ignored)
      logger.info('webhook event ignored', { provider, ...event });
    if (mapped.commands.length === 0) {
      this.#outcome(provider, 'ignored');
      return json(INGRESS_STATUS.ok, { commands: 0, ignored: mapped.ignored.length });
    }
    return this.#enqueue(provider, mapped);
  }

  async challenge(providerName: string, request: Request): Promise<Response> {
    // Only Okta verifies an endpoint with a GET; every other provider only POSTs.
    if (providerName !== 'okta') {
      return this.#refuse(
        providerName,
        INGRESS_STATUS.methodNotAllowed,
        'method_not_allowed',
        'only POST is accepted here',
      );
    }
    const authorised = await this.#authorise(providerName);
    if (authorised instanceof Response) return authorised;
    const { provider } = authorised;
    const signed: SignedRequest = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: '',
    };
    // Okta sends the hook's Authorization header with the challenge too; refuse anyone else's.
    const verification = verifySharedSecret(signed, authorised.secret);
    if (!verification.ok) {
      return this.#refuse(
        provider,
        INGRESS_STATUS.unauthorized,
        verification.reason,
        verification.detail,
      );
    }
    const challenge = request.headers.get('x-okta-verification-challenge');
    if (challenge === null || challenge === '') {
      return this.#refuse(
        provider,
        INGRESS_STATUS.malformed,
        'missing_challenge',
        'no X-Okta-Verification-Challenge header',
      );
    }
    this.#deps.logger.info('okta verification challenge answered', { provider });
    return json(INGRESS_STATUS.ok, { verification: challenge });
  }

  /** Reads, verifies, parses and maps the body; every command is checked against the contract. */
  async #verifiedCommands(
    provider: WebhookProvider,
    secret: string,
    request: Request,
  ): Promise<Mapped> {
    const { config } = this.#deps;
    const body = await this.#readBody(request);
    if (body === undefined) {
      const message = `the body is over ${config.maxBodyBytes} bytes`;
      return this.#refuse(provider, INGRESS_STATUS.tooLarge, 'body_too_large', message);
    }
    const signed: SignedRequest = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body,
    };
    const hubspotUrl =
      config.hubspotUrl === undefined ? undefined : withQuery(config.hubspotUrl, request.url);
    const verification = await verifyWebhook(provider, signed, secret, this.#now(), hubspotUrl);
    if (!verification.ok) {
      return this.#refuse(
        provider,
        INGRESS_STATUS.unauthorized,
        verification.reason,
        verification.detail,
      );
    }
    const payload = provider === 'auth0' ? parseAuth0Body(body) : parseJson(body);
    if (payload === undefined) {
      return this.#refuse(provider, INGRESS_STATUS.malformed, 'not_json', 'the body is not JSON');
    }
    const mapped = mapPayload(provider, payload, verification.messageId ?? '', config);
    if (!mapped.ok)
      return this.#refuse(provider, INGRESS_STATUS.malformed, 'malformed_payload', mapped.reason);
    const invalid = firstInvalid(mapped.commands);
    if (invalid !== undefined) {
      return this.#refuse(provider, INGRESS_STATUS.malformed, 'unmappable_payload', invalid);
    }
    return mapped;
  }

  /** Sends the commands to their lanes; a partial failure is a 503 the provider retries. */
  async #enqueue(provider: WebhookProvider, mapped: Exclude<Mapped, Response>): Promise<Response> {
    const { logger, metrics, producer } = this.#deps;
    const report = await producer.send(mapped.commands);
    metrics.count(INGRESS_METRIC_NAMES.commands, report.sent.length, { provider });
    if (report.failed.length > 0) {
      for (const { id, code, reason } of report.failed) {
        logger.error('webhook command not enqueued', { provider, id, code, reason });
      }
      return this.#refuse(
        provider,
        INGRESS_STATUS.enqueueFailed,
        'enqueue_failed',
        `${report.failed.length} of ${mapped.commands.length} command(s) could not be queued; retry the delivery`,
      );
    }
    logger.info('webhook accepted', { provider, commands: report.sent.map((sent) => sent.id) });
    this.#outcome(provider, 'accepted');
    return json(INGRESS_STATUS.ok, {
      commands: report.sent.length,
      ignored: mapped.ignored.length,
    });
  }

  /** The configured provider and its secret, or the response refusing the request. */
  async #authorise(
    provider: string,
  ): Promise<{ provider: WebhookProvider; secret: string } | Response> {
    if (!isWebhookProvider(provider)) {
      const message = `no webhook route for ${JSON.stringify(provider)}`;
      return this.#refuse(provider, INGRESS_STATUS.notFound, 'unknown_provider', message);
    }
    const { secretId } = this.#deps.config.providers[provider];
    if (secretId === undefined) {
      const message = `${provider} has no signing secret configured`;
      return this.#refuse(provider, INGRESS_STATUS.notFound, 'provider_not_configured', message);
    }
    try {
      return { provider, secret: await this.#deps.getSecret(provider, secretId) };
    } catch (error) {
      this.#deps.logger.error('webhook secret unavailable', {
        provider,
        secretId,
        error: String(error),
      });
      return this.#refuse(
        provider,
        INGRESS_STATUS.secretUnavailable,
        'secret_unavailable',
        'the signing secret could not be read; retry later',
      );
    }
  }

  async #readBody(request: Request): Promise<string | undefined> {
    const { maxBodyBytes } = this.#deps.config;
    const declared = Number(request.headers.get('content-length') ?? '0');
    if (Number.isFinite(declared) && declared > maxBodyBytes) return undefined;
    const body = await request.text();
    return Buffer.byteLength(body) > maxBodyBytes ? undefined : body;
  }

  #outcome(provider: string, name: 'accepted' | 'ignored' | 'refused' | 'failed'): void {
    this.#deps.metrics.count(INGRESS_METRIC_NAMES.requests, 1, { provider, outcome: name });
  }

  #refuse(provider: string, status: number, error: string, message: string): Response {
    this.#deps.logger.warn('webhook refused', { provider, status, error, reason: message });
    this.#outcome(provider, status >= 500 ? 'failed' : 'refused');
    return json(status, { error, message });
  }
}

function mapPayload(
  provider: WebhookProvider,
  payload: unknown,
  messageId: string,
  config: IngressConfig,
): AdapterResult {
  const rule = config.providers[provider].distinctId;
  switch (provider) {
    case 'stripe':
      return mapStripeEvent(payload, rule);
    case 'hubspot':
      return mapHubSpotEvents(payload, rule);
    case 'clerk':
      return mapClerkEvent(payload, messageId, rule);
    case 'auth0':
      return mapAuth0Events(payload, rule);
    case 'okta':
      return mapOktaEvents(payload, rule);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function withQuery(base: string, requestUrl: string): string {
  const query = new URL(requestUrl).search;
  return query === '' ? base : `${base}${query}`;
}

/** The first command the contract refuses, as `commands[i].path: reason`; `undefined` when all are valid. */
function firstInvalid(commands: readonly CommandInput[]): string | undefined {
  for (const [index, command] of commands.entries()) {
    const parsed = CommandSchema.safeParse(command);
    if (parsed.success) continue;
    const issue = parsed.error.issues[0];
    if (issue === undefined) return `commands[${index}]: is invalid`;
    const { path, reason } = describeIssue(issue);
    return `command ${command.id}: ${formatPath(path)}: ${reason}`;
  }
  return undefined;
}
