// Where the client may send its keys, and where capture lives.
import { PostHogUsageError } from './errors.ts';

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Validates and normalises an origin: https, or http only for loopback (the key must never cross a
 * network in clear text); no credentials, query or fragment; no trailing slash.
 */
export function normalizeHost(value: string, name = 'host'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PostHogUsageError(
      `${name} must be an absolute URL like https://us.posthog.com, got ${JSON.stringify(value)}`,
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new PostHogUsageError(
      `${name} must use https (http is only allowed for loopback), got ${url.protocol}//${url.host}`,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new PostHogUsageError(
      `${name} must be a plain origin without credentials, query or fragment`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The capture origin for an API origin: `us.posthog.com` → `us.i.posthog.com`, `eu.posthog.com` →
 * `eu.i.posthog.com`, the legacy `app.posthog.com` → `us.i.posthog.com`; anything else (self-hosted,
 * loopback) serves capture itself.
 */
export function deriveCaptureHost(apiHost: string): string {
  const url = new URL(apiHost);
  const cloud = /^(us|eu|app)\.posthog\.com$/.exec(url.hostname);
  if (cloud) {
    const region = cloud[1] === 'eu' ? 'eu' : 'us';
    return `https://${region}.i.posthog.com`;
  }
  return apiHost;
}

/** A project id as used in paths: a positive integer, or `@current`. */
export function normalizeProjectId(value: number | string): string {
  const text = String(value).trim();
  if (text === '@current' || /^[1-9]\d*$/.test(text)) return text;
  throw new PostHogUsageError(
    `projectId must be a positive integer (or "@current"), got ${JSON.stringify(value)}`,
  );
}
