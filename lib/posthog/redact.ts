/**
 * Secret masking for every string the client's errors carry, kept apart from the error classes.
 */

/** PostHog personal API keys, project tokens, OAuth tokens and project secret keys, of any length. */
const KEY_PATTERN = /\b(?:phx|phc|pha|phs|phe)_[A-Za-z0-9_-]+/g;
const BEARER_PATTERN = /(Bearer\s+)[^\s"',]+/gi;
// A process-wide registry: errors are built far from the client that knows the keys, and masking
// too much is harmless. It only ever grows by the handful of keys a process is configured with.
const registeredSecrets = new Set<string>();

/**
 * Registers a secret value so {@link redactSecrets} masks it wherever it appears. The client calls this
 * for its keys, so a key with an unusual prefix (a self-hosted setup) is still masked.
 */
export function registerSecret(value: string | undefined): void {
  if (value === undefined || value === '') return;
  // Also the forms the key takes inside JSON text and inside a URL, so it is masked there too.
  for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) {
    registeredSecrets.add(form);
  }
}

/** Masks known keys and key-shaped tokens in a string. */
export function redactSecrets(text: string): string {
  let out = text;
  // Longest first: one registered form may contain another.
  for (const secret of [...registeredSecrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  }
  return out.replace(KEY_PATTERN, '[REDACTED]').replace(BEARER_PATTERN, '$1[REDACTED]');
}

/**
 * A copy of a cause chain that is safe to keep: each `Error` rebuilt with its name, `code` and redacted message and
 * stack (a JSON.parse `SyntaxError` quotes the body it failed on, which a misbehaving server may fill with the key).
 * Anything else is dropped to its redacted string form. Four levels deep at most. `keepAsIs` names the errors that
 * were redacted when built (the client's own).
 */
export function redactedCause(
  cause: unknown,
  keepAsIs: (error: Error) => boolean,
  depth = 0,
): unknown {
  if (!(cause instanceof Error)) {
    return typeof cause === 'string'
      ? redactSecrets(cause)
      : cause === undefined
        ? undefined
        : redactSecrets(String(cause));
  }
  if (keepAsIs(cause)) return cause;
  const inner =
    depth < 4 && cause.cause !== undefined
      ? redactedCause(cause.cause, keepAsIs, depth + 1)
      : undefined;
  const copy = new Error(redactSecrets(cause.message), inner === undefined ? {} : { cause: inner });
  copy.name = cause.name;
  copy.stack = redactSecrets(cause.stack ?? '');
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code: redactSecrets(code) });
  return copy;
}
