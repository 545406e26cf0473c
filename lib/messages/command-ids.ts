import { createHash } from 'node:crypto';

/** Milliseconds since the epoch as the ISO-8601 `time` of a command. */
export function isoFromMillis(millis: number): string {
  return new Date(millis).toISOString();
}

const SQS_TOKEN = /^[\x21-\x7e]{1,128}$/;

/**
 * The command id of an upstream event: `<provider>-<upstream ids>`, so that a provider's retry of the same event
 * yields the same id (the FIFO `MessageDeduplicationId`; deletes are idempotent anyway). An id SQS would refuse
 * (over 128 characters, spaces, non-ASCII) becomes `<provider>-h-<sha256 hex>` of it: still stable per event.
 */
export function commandId(provider: string, ...parts: (string | number)[]): string {
  const id = [provider, ...parts.map(String)].join('-');
  if (SQS_TOKEN.test(id)) return id;
  return `${provider}-h-${createHash('sha256').update(id).digest('hex')}`;
}
