import { ENDPOINTS, type EndpointName } from './endpoints.ts';
import { type PostHogApiError, PostHogEndpointUnavailableError } from './errors.ts';
import { paginate } from './pagination.ts';
import { FunnelActorsPageSchema } from './schemas.ts';
import type { PostHogTransport } from './transport.ts';
import type {
  FunnelActorsPage,
  FunnelOptions,
  FunnelParams,
  JsonValue,
  SerializedPerson,
} from './types.ts';

/*
 * The legacy persons funnel routes, kept apart from the live endpoints because PostHog removed them: on a current
 * instance every call ends in PostHogEndpointUnavailableError, whose message says why and what to use instead.
 */

const REMOVED_EXPLANATION =
  'PostHog removed the legacy persons funnel routes in mid-2026 (funnel/correlation in PR #61218 on 2026-06-02, funnel in PR #73064 on 2026-07-23)';

type FunnelEndpoint = typeof ENDPOINTS.funnel | typeof ENDPOINTS.funnelCorrelation;

const ROUTES: Record<FunnelEndpoint, string> = {
  funnel: '/persons/funnel/',
  funnel_correlation: '/persons/funnel/correlation/',
};

/** persons/funnel/ and persons/funnel/correlation/ (see `PostHogClient.funnel`). */
export class LegacyFunnelResource {
  readonly #t: PostHogTransport;

  constructor(transport: PostHogTransport) {
    this.#t = transport;
  }

  /** The persons of a funnel step, every page. */
  funnel(params: FunnelParams, o: FunnelOptions = {}): AsyncIterable<SerializedPerson> {
    return this.#people(ENDPOINTS.funnel, params, o);
  }

  /** One raw page of {@link funnel}. */
  funnelPage(params: FunnelParams, o: FunnelOptions = {}): Promise<FunnelActorsPage> {
    return this.#page(ENDPOINTS.funnel, this.#url(ENDPOINTS.funnel), params, o);
  }

  /** The persons behind a funnel correlation, every page. */
  funnelCorrelation(params: FunnelParams, o: FunnelOptions = {}): AsyncIterable<SerializedPerson> {
    return this.#people(ENDPOINTS.funnelCorrelation, params, o);
  }

  /** One raw page of {@link funnelCorrelation}. */
  funnelCorrelationPage(params: FunnelParams, o: FunnelOptions = {}): Promise<FunnelActorsPage> {
    return this.#page(
      ENDPOINTS.funnelCorrelation,
      this.#url(ENDPOINTS.funnelCorrelation),
      params,
      o,
    );
  }

  #url(endpoint: FunnelEndpoint): URL {
    return this.#t.apiUrl(ROUTES[endpoint]);
  }

  /** GET with the params as query, or POST with them as the body. */
  #page(
    endpoint: FunnelEndpoint,
    url: URL,
    params: FunnelParams,
    o: FunnelOptions,
  ): Promise<FunnelActorsPage> {
    const method = o.method ?? 'GET';
    const requestUrl = new URL(url);
    const spec = {
      endpoint,
      response: 'json',
      schema: FunnelActorsPageSchema,
      mapError: (error: PostHogApiError) => funnelUnavailable(error, endpoint),
    } as const;
    if (method === 'POST') return this.#t.post(requestUrl, postBody(requestUrl, params), spec, o);
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && !requestUrl.searchParams.has(k)) {
        requestUrl.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
      }
    }
    return this.#t.get(requestUrl, spec, o);
  }

  async *#people(
    endpoint: FunnelEndpoint,
    params: FunnelParams,
    o: FunnelOptions,
  ): AsyncGenerator<SerializedPerson, void, undefined> {
    const first = this.#url(endpoint);
    const method = o.method ?? 'GET';
    const pages = paginate(first, async (url) => {
      // GET `next` links already carry every filter param; POST keeps sending the body.
      const isFirst = url.href === first.href;
      const page = await this.#page(endpoint, url, method === 'GET' && !isFirst ? {} : params, o);
      return { items: [page], next: page.next };
    });
    for await (const page of pages) {
      for (const step of page.results) yield* step.people;
    }
  }
}

/** The POST body: the params, and the offset a `next` link carries in its query. */
function postBody(url: URL, params: FunnelParams): Record<string, JsonValue> {
  const body: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) body[k] = v;
  for (const [k, v] of url.searchParams) if (/offset$/.test(k)) body[k] = Number(v);
  return body;
}

/** Maps the answers of a removed or refused funnel route onto PostHogEndpointUnavailableError. */
function funnelUnavailable(error: PostHogApiError, endpoint: EndpointName): PostHogApiError {
  const route = endpoint === ENDPOINTS.funnel ? 'persons/funnel/' : 'persons/funnel/correlation/';
  const init = {
    status: error.status,
    endpoint,
    ...(error.method === undefined ? {} : { method: error.method }),
    ...(error.type === undefined ? {} : { type: error.type }),
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    ...(error.attr === undefined ? {} : { attr: error.attr }),
    ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
    cause: error,
  };
  const detail = error.detail ?? '';
  if (error.status === 403 && /does not support personal api key access/i.test(detail)) {
    return new PostHogEndpointUnavailableError(
      `PostHog ${route} refuses personal API keys (403 "${detail}"): the route declares no API scopes, so every scoped key is refused, and since PR #51237 (2026-03-17) that includes former legacy keys. Only a logged-in web session could call it, and ${REMOVED_EXPLANATION}. Use the Query API's funnel actors query instead.`,
      { ...init, reason: 'personal_api_key_refused' },
    );
  }
  const looksRemoved =
    error.status === 404 ||
    error.status === 405 ||
    (endpoint === ENDPOINTS.funnel &&
      error.status === 400 &&
      /does not look like a personID/i.test(detail));
  if (looksRemoved) {
    return new PostHogEndpointUnavailableError(
      `PostHog ${route} is not available on this instance (${error.status}${detail ? ` "${detail}"` : ''}): ${REMOVED_EXPLANATION}. Use the Query API's funnel actors query instead.`,
      { ...init, reason: 'removed' },
    );
  }
  return error;
}
