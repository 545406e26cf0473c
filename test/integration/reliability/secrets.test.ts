import { execFile } from 'node:child_process';
import { inspect, promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostHogClient, type PostHogLogger } from '../../../lib/posthog/index.ts';
import { startLocalStack } from '../../../local/runner/stack.ts';
import { listDeadLetters } from '../../../local/sqs/dlq.ts';
import { buildTestBundles, scaledEnv } from '../harness.ts';
import { type EchoAnswer, echoEnvelope, startEchoServer } from './echo-server.ts';
import { recordFigures } from './figures.ts';

// A recognisable key must never show up in anything persons-relay writes, even when the server (or a proxy in
// front of it) reflects the key back in every field of its error envelope, in x-request-id, in a redirect's
// Location and in bodies that are not JSON.

const run = promisify(execFile);

const PROJECT_TOKEN = 'phc_RECOGNISABLE_project_token_7e1f';
/** Keys of very different lengths: the redaction must not depend on a minimum length. */
const KEYS = ['phx_k', 'phx_RECOGNISABLE_personal_key_5c2a9d', `phx_${'Lk9'.repeat(1500)}`];

/** Every rendering of an error a log pipeline might produce, down its cause chain. */
function renderError(error: unknown): string {
  const out: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    out.push(String(current), inspect(current, { depth: 10, showHidden: true }));
    out.push(JSON.stringify(current) ?? '');
    if (current instanceof Error) out.push(current.message, current.stack ?? '');
    current = current instanceof Error ? current.cause : undefined;
  }
  return out.join('\n');
}

/** Each way a server can hand a secret back, in the order the client test sends them. */
const MISBEHAVIOURS: { name: string; answer: EchoAnswer }[] = [
  { name: '400 envelope', answer: ({ secret }) => ({ status: 400, body: echoEnvelope(secret) }) },
  { name: '403 envelope', answer: ({ secret }) => ({ status: 403, body: echoEnvelope(secret) }) },
  { name: '404 envelope', answer: ({ secret }) => ({ status: 404, body: echoEnvelope(secret) }) },
  {
    name: '429 envelope, Retry-After 0',
    answer: ({ secret }) => ({
      status: 429,
      headers: { 'retry-after': '0' },
      body: echoEnvelope(secret),
    }),
  },
  { name: '500 envelope', answer: ({ secret }) => ({ status: 500, body: echoEnvelope(secret) }) },
  {
    name: '502 HTML page',
    answer: ({ secret }) => ({ status: 502, body: `<html><h1>Bad key ${secret}</h1></html>` }),
  },
  {
    name: "update_property's swapped code and detail",
    answer: ({ secret }) => ({
      status: 400,
      body: { attr: secret, code: `Key ${secret} is wrong.`, detail: 'required', type: secret },
    }),
  },
  {
    name: '200 that is not JSON',
    answer: ({ secret }) => ({ status: 200, body: `{"oops": ${secret}` }),
  },
  {
    name: '200 of the wrong shape',
    answer: ({ secret }) => ({ status: 200, body: { results: secret, [secret]: [secret] } }),
  },
  {
    name: '302 to a URL with the key',
    answer: ({ secret }) => ({
      status: 302,
      headers: { location: `https://evil.example/steal?key=${encodeURIComponent(secret)}` },
    }),
  },
  {
    name: 'DRF field dict',
    answer: ({ secret }) => ({ status: 400, body: { [secret]: [`${secret} is not allowed`] } }),
  },
];

describe('the client keeps a recognisable key out of every error, for a key of any length', () => {
  for (const key of KEYS) {
    it(`${key.length}-character key: errors (string, JSON, util.inspect, causes) and retry logs are clean`, async () => {
      // Prepare: a server that cycles through every misbehaviour, per call
      let current: EchoAnswer = MISBEHAVIOURS[0]?.answer ?? (() => ({ status: 500 }));
      const server = await startEchoServer((request) => current(request));
      const output: string[] = [];
      const logger: PostHogLogger = {
        debug: (msg, extra) =>
          output.push(msg, JSON.stringify(extra), inspect(extra, { depth: 10 })),
        warn: (msg, extra) =>
          output.push(msg, JSON.stringify(extra), inspect(extra, { depth: 10 })),
      };
      const client = new PostHogClient({
        host: server.url,
        projectId: 1,
        personalApiKey: key,
        projectToken: PROJECT_TOKEN,
        logger,
        maxRetries: 1,
        backoffBaseMs: 1,
        backoffCapMs: 2,
        rateLimits: false,
      });

      // Act: every misbehaviour, on a read (personal key) and on capture (project token)
      try {
        for (const { answer } of MISBEHAVIOURS) {
          current = answer;
          for (const call of [
            () => client.batchByDistinctIds(['someone']),
            () => client.capture({ event: '$set', distinctId: 'someone' }),
          ]) {
            await call().then(
              () => output.push('unexpected success'),
              (error: unknown) => output.push(renderError(error)),
            );
          }
        }
      } finally {
        await server.close();
      }

      // Assess: the server really had (and echoed) both secrets; the output holds neither
      expect(server.secretsSeen).toEqual(new Set([key, PROJECT_TOKEN]));
      const text = output.join('\n');
      expect(text).toContain('[REDACTED]');
      expect(text).toContain('Retrying PostHog request');
      expect(text).not.toContain(key);
      expect(text).not.toContain(PROJECT_TOKEN);
      expect(text).not.toContain(encodeURIComponent(key));
    });
  }
});

describe('the client refuses, before any request', () => {
  const countingFetch = () => {
    const calls: string[] = [];
    const fetch = (async (url: string | URL | Request) => {
      calls.push(String(url));
      return new Response('{}', { status: 200 });
    }) as typeof globalThis.fetch;
    return { calls, fetch };
  };

  it('a non-https host unless it is loopback', () => {
    // Prepare
    const { calls, fetch } = countingFetch();
    const make = (host: string) => () =>
      new PostHogClient({ host, projectId: 1, personalApiKey: KEYS[1] ?? '', fetch });

    // Act / Assess
    for (const host of [
      'http://us.posthog.com',
      'http://10.0.0.5:8000',
      'http://127.0.0.1.nip.io',
      'http://localhost.example.com',
      'ftp://us.posthog.com',
    ]) {
      expect(make(host), host).toThrow(/must use https/);
    }
    for (const host of [
      'https://eu.posthog.com',
      'http://127.0.0.1:8010',
      'http://localhost:1',
      'http://[::1]:8',
    ]) {
      expect(make(host), host).not.toThrow();
    }
    expect(calls).toEqual([]);
  });

  it('a key of the wrong kind, naming the kind and never the value', () => {
    // Prepare
    const { calls, fetch } = countingFetch();
    const make = (personalApiKey: string, projectToken?: string) => () =>
      new PostHogClient({
        host: 'https://us.posthog.com',
        projectId: 1,
        personalApiKey,
        ...(projectToken === undefined ? {} : { projectToken }),
        fetch,
      });
    const cases: [string, string | undefined, RegExp][] = [
      [
        'phc_project_token_given_as_key_91',
        undefined,
        /personalApiKey .*but the value given is a project token/,
      ],
      [
        'pha_oauth_token_given_as_key_91',
        undefined,
        /but the value given is an OAuth access token/,
      ],
      ['phs_secret_given_as_key_91', undefined, /but the value given is a project secret API key/],
      ['sk-unrelated-vendor-key-91', undefined, /starts with phx_; the value given does not/],
      ['phx_has space_91', undefined, /visible ASCII/],
      [
        'phx_fine_key_91',
        'phx_personal_key_given_as_token_91',
        /projectToken .*but the value given is a personal API key/,
      ],
    ];

    // Act / Assess
    for (const [key, token, message] of cases) {
      let error: unknown;
      try {
        make(key, token)();
      } catch (caught) {
        error = caught;
      }
      expect(error, key).toBeInstanceOf(TypeError);
      expect(String((error as Error).message)).toMatch(message);
      expect(renderError(error)).not.toContain(key);
      if (token !== undefined) expect(renderError(error)).not.toContain(token);
    }
    expect(calls).toEqual([]);
  });
});

describe('the CLI --verbose retry lines', () => {
  it('log every retry without the key the server echoes', async () => {
    // Prepare: 500, then 429, then 400, each echoing the key everywhere
    const key = KEYS[1] ?? '';
    const server = await startEchoServer(({ index, secret }) =>
      index === 0
        ? { status: 500, body: echoEnvelope(secret) }
        : index === 1
          ? { status: 429, headers: { 'retry-after': '0' }, body: echoEnvelope(secret) }
          : { status: 400, body: echoEnvelope(secret) },
    );

    // Act
    const result = await run(
      'node',
      [
        'bin/persons-relay.js',
        'api',
        '--host',
        server.url,
        '--project-id',
        '1',
        '--max-retries',
        '3',
        '--verbose',
        'batch-by-distinct-ids',
        'someone',
      ],
      { env: { ...process.env, POSTHOG_PERSONAL_API_KEY: key } },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);
    await server.close();

    // Assess: two retry lines, the final error, and no key anywhere
    expect(server.secretsSeen).toEqual(new Set([key]));
    const { stdout, stderr } = result as { stdout: string; stderr: string };
    expect(stderr.match(/Retrying PostHog request/g)).toHaveLength(2);
    expect(stderr).toContain('[REDACTED]');
    expect(`${stdout}\n${stderr}`).not.toContain(key);
  }, 180_000);
});

describe('the deployed functions keep the key out of logs, EMF and dead letters', () => {
  let bundles: Awaited<ReturnType<typeof buildTestBundles>>;
  beforeAll(async () => {
    bundles = await buildTestBundles();
  });
  afterAll(async () => {
    await bundles.cleanup();
  });

  it('a run against an echoing server: stdout, stderr, EMF, DLQ bodies and attributes are clean', async () => {
    // Prepare: a few transient failures (retried), then permanent 400s (dead-lettered), all echoing the secrets
    const key = KEYS[1] ?? '';
    const server = await startEchoServer(({ index, secret }) =>
      index % 5 === 0
        ? { status: 500, body: echoEnvelope(secret) }
        : index % 5 === 1
          ? { status: 429, headers: { 'retry-after': '1' }, body: echoEnvelope(secret) }
          : index % 5 === 2
            ? { status: 502, body: `<html>upstream refused ${secret}</html>` }
            : { status: 400, body: echoEnvelope(secret) },
    );
    const lines: string[] = [];
    const processOutput: string[] = [];
    const stack = await startLocalStack({
      posthog: { host: server.url, projectId: 1, personalApiKey: key, projectToken: PROJECT_TOKEN },
      modules: bundles.modules,
      env: { ...scaledEnv(), POSTHOG_PROPERTY_WRITES: 'capture', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
      onFunctionOutput: (_lane, line) => lines.push(line),
      startPolling: false,
    });
    const write = (stream: NodeJS.WriteStream) => {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        processOutput.push(String(chunk));
        return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      return () => {
        stream.write = original;
      };
    };
    const restore = [write(process.stdout), write(process.stderr)];
    try {
      const { sendCommandLines } = await import('../../../local/sqs/send-commands.ts');
      const command = (type: string, id: string, data: unknown) =>
        JSON.stringify({ type, id, time: '2026-11-28T09:00:00Z', data });
      await sendCommandLines(
        stack.sqs.client,
        [
          command('persons.delete', 's-1', { distinctIds: ['gone-1', 'gone-2'] }),
          command('persons.delete', 's-2', { distinctIds: ['gone-3'] }),
          command('person.properties.update', 's-3', { distinctId: 'p-1', set: { plan: 'pro' } }),
          command('person.properties.update', 's-4', { distinctId: 'p-2', unset: ['plan'] }),
          command('person.merge', 's-5', { survivorDistinctId: 'p-3', mergedDistinctIds: ['p-4'] }),
          command('person.split', 's-6', { distinctId: 'p-5', distinctIdsToSplit: ['p-6'] }),
        ],
        { deletions: stack.sqs.queues.deletions.url, changes: stack.sqs.queues.changes.url },
      );

      // Act
      stack.startPolling();
      await stack.waitUntilDrained({ timeoutMs: 200_000 });
      const letters = [
        ...(await listDeadLetters(stack.sqs.client, stack.sqs.queues.deletions.dlqUrl)),
        ...(await listDeadLetters(stack.sqs.client, stack.sqs.queues.changes.dlqUrl)),
      ];

      // Assess: the functions sent both secrets and got them echoed; nothing written holds either
      expect(server.secretsSeen).toEqual(new Set([key, PROJECT_TOKEN]));
      expect(letters).toHaveLength(6);
      expect(lines.some((line) => line.includes('"_aws"'))).toBe(true);
      const captured = [
        ...lines,
        ...processOutput,
        ...letters.map((l) => JSON.stringify({ body: l.body, attributes: l.attributes })),
      ].join('\n');
      expect(captured).toContain('[REDACTED]');
      expect(captured).not.toContain(key);
      expect(captured).not.toContain(PROJECT_TOKEN);
      recordFigures('secrets', {
        'key lengths tried (client)': KEYS.map((k) => k.length).join(', '),
        'misbehaviours echoing the key': MISBEHAVIOURS.length,
        'function output lines searched': lines.length,
        'dead letters searched': letters.length,
        'secrets found': 0,
      });
    } finally {
      for (const r of restore) r();
      await stack.close();
      await server.close();
    }
  }, 300_000);
});
