import type { PostHogClientOptions } from '../../../../lib/posthog/index.ts';
import { PostHogClient } from '../../../../lib/posthog/index.ts';

/** A fake clock whose sleep returns at once and moves time forward; records every sleep. */
export function fakeTime(start = 1_800_000_000_000) {
  let current = start;
  const sleeps: number[] = [];
  return {
    now: (): number => current,
    sleep: async (ms: number, signal?: AbortSignal): Promise<void> => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      current += ms;
    },
    advance: (ms: number): void => {
      current += ms;
    },
    sleeps,
  };
}

/** One request as the scripted fetch saw it. */
export interface SeenRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: unknown;
}

type Step = (request: SeenRequest, signal: AbortSignal | undefined) => Response | Promise<Response>;

/**
 * A hand-written fetch (openai-node `testFetch`) that answers from a script of steps, one per call,
 * with real `Response` objects. The last step repeats when the script runs out.
 */
export function scriptedFetch(...steps: Step[]) {
  const calls: SeenRequest[] = [];
  const fetchImpl = async (
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const text = typeof init?.body === 'string' ? init.body : undefined;
    const seen: SeenRequest = {
      url,
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      body: text === undefined ? undefined : JSON.parse(text),
    };
    calls.push(seen);
    const step = steps[Math.min(calls.length - 1, steps.length - 1)];
    if (step === undefined) throw new Error('scriptedFetch: no steps');
    return step(seen, init?.signal ?? undefined);
  };
  return { fetch: fetchImpl as typeof fetch, calls };
}

/** A JSON response. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** An empty response (PostHog's 202s). */
export function empty(status: number): Response {
  return new Response(null, { status });
}

/** A fetch failure the way undici reports it: TypeError('fetch failed') with a coded cause. */
export function networkError(code: string): Error {
  const cause = Object.assign(new Error(`read ${code}`), { code });
  return new TypeError('fetch failed', { cause });
}

/** A step that never answers until the request's signal aborts (a hung server). */
export function hang(): Step {
  return (_request, signal) =>
    new Promise<Response>((_resolve, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
}

export const TEST_KEY = 'phx_unit_test_secret_key_0123456789';
export const TEST_TOKEN = 'phc_unit_test_project_token_0123456789';
export const PERSON_UUID = '0190f4a8-7e2b-7c3d-8e4f-a1b2c3d4e5f6';

/** A client on a fake clock with a scripted fetch; the limiter is off unless asked for. */
export function unitClient(
  fetchImpl: typeof fetch,
  time: ReturnType<typeof fakeTime>,
  options: Partial<PostHogClientOptions> = {},
): PostHogClient {
  return new PostHogClient({
    host: 'https://us.posthog.com',
    projectId: 7,
    personalApiKey: TEST_KEY,
    projectToken: TEST_TOKEN,
    fetch: fetchImpl,
    now: time.now,
    sleep: time.sleep,
    random: () => 0.5,
    rateLimits: false,
    ...options,
  });
}
