import { PostHogUsageError } from './errors.ts';
/** PostHog's personal API keys start with this; only they authenticate the private API. */
export const PERSONAL_API_KEY_PREFIX = 'phx_';
/** PostHog's project tokens (the public capture key) start with this. */
export const PROJECT_TOKEN_PREFIX = 'phc_';

/** What each other PostHog key prefix is, to name a key given in the wrong place (never its value). */
const KEY_KINDS: Record<string, string> = {
  phx_: 'a personal API key',
  phc_: 'a project token',
  // docs/posthog-api.md §1.2: a Bearer token starting pha_ belongs to OAuth, and the personal-key check skips it.
  pha_: 'an OAuth access token',
  phs_: 'a project secret API key',
};

/**
 * Refuses a key of the wrong kind before any request: a project token sent as the personal key would be refused
 * by PostHog after travelling in every request, and a personal key sent as the project token would be written
 * into capture bodies. Also refuses characters no HTTP header may carry. The message names the kinds, never the key.
 */
export function checkKeyKind(key: string, name: string, prefix: string): void {
  const expected = KEY_KINDS[prefix] ?? prefix;
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new PostHogUsageError(
      `${name} must be ${expected} (${prefix}…) of visible ASCII characters`,
    );
  }
  if (key.startsWith(prefix)) return;
  const given = Object.entries(KEY_KINDS).find(([p]) => key.startsWith(p))?.[1];
  throw new PostHogUsageError(
    given === undefined
      ? `${name} must be ${expected}, which starts with ${prefix}; the value given does not`
      : `${name} must be ${expected} (${prefix}…), but the value given is ${given}`,
  );
}
