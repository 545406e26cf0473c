import type { ClientRequestOptions, PostHogClientLike } from '../../lib/executor/index.ts';
import { errorFromResponse, type PostHogApiError } from '../../lib/posthog/index.ts';

/** A method of the client interface the executor uses. */
export type ClientMethod = keyof PostHogClientLike;

/** One recorded call: the method, its arguments (without the options) and the request options. */
export interface ClientCall {
  readonly method: ClientMethod;
  readonly args: readonly unknown[];
  readonly options: ClientRequestOptions | undefined;
}

/** What a scripted call does: throw the error, or answer the value (or what the function returns for the args). */
export type ScriptedResponse = Error | { readonly value: unknown } | ((args: unknown[]) => unknown);

/**
 * A fake {@link PostHogClientLike} for the unit tier. It keeps a map of distinct id → person uuid, answers every
 * method the way PostHog's happy path does, records every call with its options, and lets a test script the next
 * answers of a method (an error to throw, or a value). Each call yields to the event loop once (`setImmediate`, no
 * timer), so calls the executor runs concurrently really overlap and `maxInFlight` is meaningful.
 */
export class FakePostHogClient implements PostHogClientLike {
  /** Whether capture (several unsets as one `$unset` event) may be planned. */
  public hasProjectToken = false;
  public readonly calls: ClientCall[] = [];
  /** distinct id → person uuid (lower case). */
  public readonly persons: Map<string, string>;
  /** Person uuids bulk_delete reports in `deletion_errors` (PostHog could not delete them). */
  public readonly failDeletionOf = new Set<string>();
  /** Runs at the start of every call, e.g. to move a fake clock. */
  public onCall: ((call: ClientCall) => void) | undefined;
  /** Most calls in flight at once, per method. */
  public readonly maxInFlight = new Map<ClientMethod, number>();
  readonly #inFlight = new Map<ClientMethod, number>();
  readonly #scripts = new Map<ClientMethod, ScriptedResponse[]>();
  readonly #handlers = new Map<ClientMethod, (args: unknown[]) => unknown>();

  public constructor(persons: Record<string, string> = {}) {
    this.persons = new Map(Object.entries(persons));
  }

  /** Queues answers for the next calls of `method`, one per call, before the default behaviour resumes. */
  public script(method: ClientMethod, ...responses: ScriptedResponse[]): this {
    this.#scripts.set(method, [...(this.#scripts.get(method) ?? []), ...responses]);
    return this;
  }

  /**
   * Replaces the default behaviour of `method` for every later call (after any scripted answers): `handler` gets
   * the arguments and returns the answer or throws.
   */
  public handle(method: ClientMethod, handler: (args: unknown[]) => unknown): this {
    this.#handlers.set(method, handler);
    return this;
  }

  /** The calls of one method. */
  public callsOf(method: ClientMethod): ClientCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  public batchByDistinctIds(
    distinctIds: string[],
    o?: ClientRequestOptions,
  ): Promise<Record<string, { uuid: string }>> {
    return this.#call('batchByDistinctIds', [distinctIds], o, () => {
      const found: Record<string, { uuid: string }> = {};
      for (const id of distinctIds) {
        const uuid = this.persons.get(id);
        if (uuid !== undefined) found[id] = { uuid };
      }
      return found;
    });
  }

  public bulkDelete(
    target: { ids: string[] } | { distinctIds: string[] },
    flags?: { deleteEvents?: boolean; deleteRecordings?: boolean; keepPerson?: boolean },
    o?: ClientRequestOptions,
  ): Promise<{ deletionErrors: { personUuid: string }[] }> {
    return this.#call('bulkDelete', [target, flags], o, () => {
      const uuids =
        'ids' in target
          ? target.ids
          : target.distinctIds.flatMap((id) => {
              const uuid = this.persons.get(id);
              return uuid === undefined ? [] : [uuid];
            });
      return {
        deletionErrors: [...new Set(uuids)]
          .filter((uuid) => this.failDeletionOf.has(uuid))
          .map((personUuid) => ({ personUuid })),
      };
    });
  }

  public split(
    person: string,
    body?: { mainDistinctId?: string; distinctIdsToSplit?: string[] },
    o?: ClientRequestOptions,
  ): Promise<unknown> {
    return this.#call('split', [person, body], o, () => ({ queued: true }));
  }

  public updateProperty(
    person: string,
    key: string,
    value: unknown,
    o?: ClientRequestOptions,
  ): Promise<unknown> {
    return this.#call('updateProperty', [person, key, value], o, () => ({ accepted: true }));
  }

  public updateProperties(
    person: string,
    properties: Record<string, unknown>,
    o?: ClientRequestOptions,
  ): Promise<unknown> {
    return this.#call('updateProperties', [person, properties], o, () => ({ accepted: true }));
  }

  /** GET persons/:uuid/: the distinct ids mapped to the uuid, or PostHog's 404 when none is. */
  public retrieve(person: string, o?: ClientRequestOptions): Promise<{ distinct_ids: string[] }> {
    return this.#call('retrieve', [person], o, () => {
      const distinctIds = [...this.persons].filter(([, uuid]) => uuid === person).map(([id]) => id);
      if (distinctIds.length === 0)
        throw apiError(404, { type: 'invalid_request', code: 'not_found', detail: 'Not found.' });
      return { distinct_ids: distinctIds };
    });
  }

  public deleteProperty(
    person: string,
    key: string,
    o?: ClientRequestOptions,
  ): Promise<{ success: boolean }> {
    return this.#call('deleteProperty', [person, key], o, () => ({ success: true }));
  }

  public captureBatch(
    events: Parameters<PostHogClientLike['captureBatch']>[0],
    o?: ClientRequestOptions,
  ): Promise<void> {
    return this.#call('captureBatch', [events], o, () => undefined);
  }

  async #call<T>(
    method: ClientMethod,
    args: unknown[],
    options: ClientRequestOptions | undefined,
    fallback: () => T,
  ): Promise<T> {
    const call: ClientCall = { method, args, options };
    this.calls.push(call);
    this.onCall?.(call);
    const inFlight = (this.#inFlight.get(method) ?? 0) + 1;
    this.#inFlight.set(method, inFlight);
    this.maxInFlight.set(method, Math.max(inFlight, this.maxInFlight.get(method) ?? 0));
    try {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const scripted = this.#scripts.get(method)?.shift() ?? this.#handlers.get(method);
      if (scripted === undefined) return fallback();
      if (scripted instanceof Error) throw scripted;
      if (typeof scripted === 'function') return scripted(args) as T;
      return scripted.value as T;
    } finally {
      this.#inFlight.set(method, (this.#inFlight.get(method) ?? 1) - 1);
    }
  }
}

/**
 * A PostHog API error as the client throws it, built by the public factory from a status, PostHog's JSON error body
 * and headers (e.g. `{ 'retry-after': '7' }`).
 */
export function apiError(
  status: number,
  body: { type?: string; code?: string; detail?: string; attr?: string | null } = {},
  headers: Record<string, string> = {},
): PostHogApiError {
  return errorFromResponse({
    status,
    body: { type: 'server_error', code: 'error', detail: 'boom', attr: null, ...body },
    headers: new Headers(headers),
  });
}
