/**
 * Memory: the peak RSS of a fresh `node` process that loads the apply-deletions bundle and handles one
 * 10,000-message batch against the PostHog emulator (real time, PostHog's limits), next to the memory the stack
 * configures for the function. Peak RSS is the kernel's high-water mark (`process.resourceUsage().maxRSS`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { SQSRecord } from 'aws-lambda';
import { startPostHogEmulator } from '../local/posthog-emulator/index.ts';
import { LOCAL_SECRET_ID, startSecretsManagerStub } from '../local/runner/index.ts';

/** Bytes. */
export interface MemoryResult {
  readonly messages: number;
  readonly rssAfterInit: number;
  readonly peakRss: number;
  readonly configuredMb: number;
  /** 1 − peak / configured. */
  readonly headroom: number;
  readonly failures: number;
}

const CHILD = `
import { readFileSync, writeFileSync } from 'node:fs';
const mod = await import(process.env.BENCH_MODULE_URL);
const rssAfterInit = process.memoryUsage().rss;
const event = JSON.parse(readFileSync(process.env.BENCH_EVENT_FILE, 'utf8'));
const deadline = Date.now() + 120000;
const context = { functionName: 'apply-deletions', awsRequestId: 'bench', memoryLimitInMB: '512',
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
const response = await mod.handler(event, context);
writeFileSync(process.env.BENCH_RESULT_FILE, JSON.stringify({ rssAfterInit,
  peakRss: process.resourceUsage().maxRSS * 1024, failures: response.batchItemFailures.length }));
process.exit(0);
`;

/** Runs the deletions bundle in a child process over one batch made of `bodies`. */
export async function peakMemory(
  bundle: string,
  bodies: readonly string[],
  configuredMb: number,
): Promise<MemoryResult> {
  const emulator = await startPostHogEmulator({ rateLimits: { enabled: true } });
  const secrets = await startSecretsManagerStub({
    [LOCAL_SECRET_ID]: JSON.stringify({ personalApiKey: emulator.personalApiKey }),
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'persons-relay-bench-'));
  try {
    const now = String(Date.now());
    const records: SQSRecord[] = bodies.map((body, i) => ({
      messageId: `m-${i}`,
      receiptHandle: `r-${i}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: now,
        SenderId: 'bench',
        ApproximateFirstReceiveTimestamp: now,
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:persons-relay-deletions',
      awsRegion: 'us-east-1',
    }));
    const eventFile = path.join(dir, 'event.json');
    const resultFile = path.join(dir, 'result.json');
    await writeFile(eventFile, JSON.stringify({ Records: records }));
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: {
        PATH: process.env['PATH'] ?? '',
        LANE: 'deletions',
        POSTHOG_HOST: emulator.url,
        POSTHOG_PROJECT_ID: String(emulator.projectId),
        POSTHOG_SECRET_ID: LOCAL_SECRET_ID,
        QUEUE_URL: 'http://127.0.0.1:9/000000000000/persons-relay-deletions',
        DLQ_URL: 'http://127.0.0.1:9/000000000000/persons-relay-deletions-dlq',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        BENCH_MODULE_URL: pathToFileURL(bundle).href,
        BENCH_EVENT_FILE: eventFile,
        BENCH_RESULT_FILE: resultFile,
      },
      maxBuffer: 256 * 1024 * 1024,
    });
    const result = JSON.parse(await readFile(resultFile, 'utf8')) as {
      rssAfterInit: number;
      peakRss: number;
      failures: number;
    };
    return {
      messages: bodies.length,
      ...result,
      configuredMb,
      headroom: 1 - result.peakRss / (configuredMb * 1024 * 1024),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await secrets.close();
    await emulator.close();
  }
}
