import { v5 as uuidv5 } from 'uuid';

/** PostHog's namespace for person uuids derived from a distinct id (`uuidFromDistinctId`). */
export const PERSON_UUID_NAMESPACE = '932979b4-65c3-4424-8467-0b66ec27bc22';

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * Python's `UUID(str)` accepts hex with or without hyphens, `{…}` braces and a `urn:uuid:` prefix; returns the
 * canonical lower-case form, or null.
 */
export const parseUuid = (value: string): string | null => {
  let s = value.trim();
  if (s.toLowerCase().startsWith('urn:uuid:')) s = s.slice(9);
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  if (!UUID_RE.test(s)) return null;
  const hex = s.replaceAll('-', '').toLowerCase();
  if (hex.length !== 32) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/**
 * PostHog `is_anonymous_id` (posthog/utils.py): `re.match(r"^([a-z0-9]+\-){4}([a-z0-9]+)$", distinct_id)`. Not just
 * uuids: any five lower-case alphanumeric groups joined by hyphens count (posthog-js's anonymous ids look like this),
 * while an upper-case uuid does not. Anonymous ids sort last in retrieve's `distinct_ids` and are skipped for `name`.
 */
export const isAnonymousId = (value: string): boolean => /^([a-z0-9]+-){4}([a-z0-9]+)$/.test(value);

/** `uuid5(NAMESPACE, f"{team_id}:{distinct_id}")` (PostHog `uuidFromDistinctId`). */
export const uuidFromDistinctId = (teamId: number, distinctId: string): string =>
  uuidv5(`${teamId}:${distinctId}`, PERSON_UUID_NAMESPACE);

/** The uuid a split gives the person of `distinctId`; `:split` is appended if it would equal the source (`splitTargetUuid`). */
export const splitTargetUuid = (teamId: number, distinctId: string, sourceUuid: string): string => {
  const candidate = uuidFromDistinctId(teamId, distinctId);
  return candidate === sourceUuid.toLowerCase()
    ? uuidv5(`${teamId}:${distinctId}:split`, PERSON_UUID_NAMESPACE)
    : candidate;
};

// Deliberately not shared with lib/messages/illegal-ids.ts: the emulator stands in for PostHog, so it keeps its own
// copy of PostHog's rule, and a mistake in the client's copy shows up as a test failure instead of agreeing with itself.
const ILLEGAL_CASE_INSENSITIVE = [
  'anonymous',
  'guest',
  'distinctid',
  'distinct_id',
  'id',
  'not_authenticated',
  'email',
  'undefined',
  'true',
  'false',
];
const ILLEGAL_CASE_SENSITIVE = ['[object Object]', 'NaN', 'None', 'none', 'null', '0', 'undefined'];
const quoted = (values: string[]): Set<string> =>
  new Set(values.flatMap((v) => [v, `'${v}'`, `"${v}"`]));
const ILLEGAL_CI = quoted(ILLEGAL_CASE_INSENSITIVE);
const ILLEGAL_CS = quoted(ILLEGAL_CASE_SENSITIVE);

/** S16 `isDistinctIdIllegal`: blank, or one of the placeholder values some SDKs send. */
export const isDistinctIdIllegal = (id: string): boolean =>
  id.trim() === '' || ILLEGAL_CI.has(id.toLowerCase()) || ILLEGAL_CS.has(id);

/** Python `repr()` of a str, as in the `not on this person: [...]` message. */
export const pyRepr = (value: string): string => {
  const useDouble = value.includes("'") && !value.includes('"');
  const q = useDouble ? '"' : "'";
  let out = '';
  for (const ch of value) {
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return `${q}${out}${q}`;
};

/** Python truthiness of a JSON value (`bool(request.data.get(...))`). */
export const pyTruthy = (value: unknown): boolean => {
  if (value === undefined || value === null || value === false || value === 0 || value === '') {
    return false;
  }
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
};
