import { afterEach } from 'vitest';
import {
  type PostHogEmulator,
  type PostHogEmulatorOptions,
  startPostHogEmulator,
} from '../../../../local/posthog-emulator/index.ts';

/** A JSON answer as the tests see it. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  json: any;
}

const open: PostHogEmulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

/** Start an emulator that is closed after the current test. */
export const emulator = async (options: PostHogEmulatorOptions = {}): Promise<PostHogEmulator> => {
  const e = await startPostHogEmulator(options);
  open.push(e);
  return e;
};

/** Send a request over real HTTP and read the answer. */
export const call = async (
  url: string,
  init: {
    method?: string;
    body?: unknown;
    headers?: Record<string, string>;
    rawBody?: string;
  } = {},
): Promise<Reply> => {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body: string | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
};

/** A client bound to one emulator and key: `api('GET', 'persons/')`. */
export const apiClient =
  (ph: PostHogEmulator, key: string = ph.personalApiKey, teamId: number = ph.projectId) =>
  (method: string, path: string, body?: unknown): Promise<Reply> =>
    call(`${ph.url}/api/projects/${teamId}/${path}`, {
      method,
      headers: { Authorization: `Bearer ${key}` },
      ...(body !== undefined ? { body } : {}),
    });

/** POST one event (or a batch) to capture with the project token. */
export const capture = (
  ph: PostHogEmulator,
  event: {
    event: string;
    distinct_id: string;
    properties?: Record<string, unknown>;
    timestamp?: string;
  },
): Promise<Reply> =>
  call(`${ph.url}/i/v0/e/`, { method: 'POST', body: { api_key: ph.projectToken, ...event } });
