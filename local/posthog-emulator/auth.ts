import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { authenticationFailed, notAuthenticated, permissionDenied } from './errors.ts';
import type { ApiKeySpec, JsonObject } from './types.ts';

/** A registered personal API key. */
export interface ApiKey {
  value: string;
  scopes: string[] | null;
  projects: number[] | null;
  legacy: boolean;
}

/**
 * The scopes an action needs. An empty list marks an action with no `required_scopes` (funnel, correlation),
 * which every scoped personal key is refused (§1.3).
 */
export type RequiredScopes = readonly string[];

/** Personal API keys of one emulator. */
export class ApiKeyRegistry {
  readonly #keys = new Map<string, ApiKey>();
  readonly #legacyByDefault: boolean;

  /** `legacyByDefault`: how a `scopes: null` key without an explicit `legacy` is read (older PostHog: true). */
  public constructor(legacyByDefault = false) {
    this.#legacyByDefault = legacyByDefault;
  }

  /** Register a key; returns its value. */
  public add(spec: ApiKeySpec): string {
    const value = spec.value ?? `phx_${randomBytes(20).toString('hex')}`;
    this.#keys.set(value, {
      value,
      scopes: spec.scopes === null ? null : [...spec.scopes],
      projects: spec.projects ? [...spec.projects] : null,
      legacy: spec.legacy ?? this.#legacyByDefault,
    });
    return value;
  }

  /**
   * PostHog `PersonalAPIKeyAuthentication`: the first of Bearer header (skipping `pha_` OAuth tokens), body
   * `personal_api_key`, query `personal_api_key` is tried, and only that one.
   */
  public authenticate(req: IncomingMessage, query: URLSearchParams, body: JsonObject): ApiKey {
    let found: { value: string; source: string } | undefined;
    const header = req.headers.authorization;
    const bearer = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (bearer && !bearer.startsWith('pha_'))
      found = { value: bearer, source: 'Authorization header' };
    else if (typeof body['personal_api_key'] === 'string' && body['personal_api_key'] !== '') {
      found = { value: body['personal_api_key'], source: 'body' };
    } else if (query.get('personal_api_key')) {
      found = { value: query.get('personal_api_key') ?? '', source: 'query string' };
    }
    if (!found) throw notAuthenticated();
    const key = this.#keys.get(found.value);
    if (!key) {
      throw authenticationFailed(`Personal API key found in request ${found.source} is invalid.`);
    }
    return key;
  }
}

/** PostHog `APIScopePermission` for personal keys: project access, then required scopes (§1.3). */
export const authorize = (key: ApiKey, teamId: number, required: RequiredScopes): void => {
  if (key.projects && !key.projects.includes(teamId)) {
    throw permissionDenied(`API key does not have access to the requested project: ID ${teamId}.`);
  }
  if (key.scopes === null) {
    if (key.legacy) return; // "TRICKY: Legacy Personal API keys have no scopes and are allowed to do anything"
    throw permissionDenied(
      required.length === 0
        ? 'This action does not support personal API key access'
        : `API key missing required scope '${required[0]}'`,
    );
  }
  if (required.length === 0) {
    throw permissionDenied('This action does not support personal API key access');
  }
  if (key.scopes.includes('*')) return;
  for (const scope of required) {
    const accepted = scope.endsWith(':read') ? [scope, scope.replace(/:read$/, ':write')] : [scope];
    if (!accepted.some((s) => key.scopes?.includes(s))) {
      throw permissionDenied(`API key missing required scope '${scope}'`);
    }
  }
};
