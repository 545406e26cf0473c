import type { RequiredScopes } from './auth.ts';
import type { ApiRequest, ApiResult, EmulatorContext } from './context.ts';
import { notFound } from './errors.ts';
import { funnelCorrelationPersons, funnelPersons } from './funnel.ts';
import * as persons from './persons.ts';
import type { RateClass } from './rate-limiter.ts';
import type { FunnelRoutes } from './types.ts';

/** A handler of one action. */
export type Handler = (ctx: EmulatorContext, req: ApiRequest) => ApiResult;

/** One persons-viewset action: its methods, scopes and throttle family. */
export interface RouteAction {
  /** Stable endpoint label for the request log, e.g. `persons/:id/split`. */
  endpoint: string;
  methods: Partial<Record<string, Handler>>;
  /** Required scopes per method (`[]` = no `required_scopes`: refused to every scoped personal key). */
  scopes: (method: string) => RequiredScopes;
  rateClass: (method: string) => RateClass;
  personId?: string;
}

const READ = ['person:read'] as const;
const WRITE = ['person:write'] as const;
const fixed =
  (scopes: RequiredScopes): ((method: string) => RequiredScopes) =>
  () =>
    scopes;
const other = (): RateClass => 'other';
const deletes = (): RateClass => 'delete';

/** List-level routes (`persons/<name>`), checked before the `:id` detail routes like DRF's router does. */
const LIST_ROUTES: Record<string, Omit<RouteAction, 'personId'>> = {
  bulk_delete: {
    endpoint: 'persons/bulk_delete',
    methods: { POST: persons.bulkDelete },
    scopes: fixed(WRITE),
    rateClass: deletes,
  },
  batch_by_distinct_ids: {
    endpoint: 'persons/batch_by_distinct_ids',
    methods: { POST: persons.batchByDistinctIds },
    scopes: fixed(READ),
    rateClass: other,
  },
  batch_by_uuids: {
    endpoint: 'persons/batch_by_uuids',
    methods: { POST: persons.batchByUuids },
    scopes: fixed(READ),
    rateClass: other,
  },
  activity: {
    endpoint: 'persons/activity',
    methods: { GET: persons.allActivity },
    scopes: fixed(['activity_log:read']),
    rateClass: other,
  },
  cohorts: {
    endpoint: 'persons/cohorts',
    methods: { GET: persons.personCohorts },
    scopes: fixed(['person:read', 'cohort:read']),
    rateClass: other,
  },
  deletion_status: {
    endpoint: 'persons/deletion_status',
    methods: { GET: persons.deletionStatus },
    scopes: fixed(READ),
    rateClass: other,
  },
  values: {
    endpoint: 'persons/values',
    methods: { GET: persons.propertyValues },
    scopes: fixed(READ),
    rateClass: other,
  },
  reset_person_distinct_id: {
    endpoint: 'persons/reset_person_distinct_id',
    methods: { POST: persons.resetPersonDistinctId },
    scopes: fixed(WRITE),
    rateClass: other,
  },
  funnel: {
    endpoint: 'persons/funnel',
    methods: { GET: funnelPersons, POST: funnelPersons },
    scopes: fixed([]),
    rateClass: other,
  },
  'funnel/correlation': {
    endpoint: 'persons/funnel/correlation',
    methods: { GET: funnelCorrelationPersons, POST: funnelCorrelationPersons },
    scopes: fixed([]),
    rateClass: other,
  },
};

const DETAIL_ACTIONS: Record<string, Omit<RouteAction, 'personId'>> = {
  split: {
    endpoint: 'persons/:id/split',
    methods: { POST: persons.splitPerson },
    scopes: fixed(WRITE),
    rateClass: other,
  },
  update_property: {
    endpoint: 'persons/:id/update_property',
    methods: { POST: persons.updateProperty },
    scopes: fixed(WRITE),
    rateClass: other,
  },
  delete_property: {
    endpoint: 'persons/:id/delete_property',
    methods: { POST: persons.deleteProperty },
    scopes: fixed(WRITE),
    rateClass: other,
  },
  activity: {
    endpoint: 'persons/:id/activity',
    methods: { GET: persons.personActivity },
    scopes: fixed(['activity_log:read']),
    rateClass: other,
  },
  delete_events: {
    endpoint: 'persons/:id/delete_events',
    methods: { POST: persons.deleteEvents },
    scopes: fixed(WRITE),
    rateClass: deletes,
  },
  delete_recordings: {
    endpoint: 'persons/:id/delete_recordings',
    methods: { POST: persons.deleteRecordings },
    scopes: fixed(WRITE),
    rateClass: deletes,
  },
};

const LIST: Omit<RouteAction, 'personId'> = {
  endpoint: 'persons',
  methods: { GET: persons.listPersons, POST: persons.createPerson },
  scopes: (m) => (m === 'GET' ? READ : WRITE),
  rateClass: other,
};

const DETAIL: Omit<RouteAction, 'personId'> = {
  endpoint: 'persons/:id',
  methods: {
    GET: persons.retrievePerson,
    DELETE: persons.destroyPerson,
    PATCH: persons.patchPerson,
    PUT: persons.patchPerson,
  },
  scopes: (m) => (m === 'GET' ? READ : WRITE),
  rateClass: (m) => (m === 'DELETE' ? 'delete' : 'other'),
};

/** The API prefix of a path and the team segment it names. */
export interface ApiPath {
  /** The raw team segment (`1`, `@current`, `abc`), or null for the legacy `/api/person/` route. */
  teamSegment: string | null;
  /** The part after `persons/` (or `person/`), no slashes at the ends. */
  rest: string;
  /** A DRF format suffix on the list route (`/api/person.csv`, `persons.json`), lower-case. */
  format?: string;
}

/**
 * Match `/api/projects/:id/persons/…`, `/api/environments/:id/persons/…` and the legacy `/api/person/…`
 * (trailing slash optional: `DefaultRouterPlusPlus` uses `/?`).
 */
export const matchApiPath = (pathname: string): ApiPath | null => {
  const path = pathname.replace(/\/+$/, '');
  // DefaultRouter's format suffixes: `persons.csv` is the list rendered by PaginatedCSVRenderer.
  const suffixed = path.match(
    /^\/api\/(?:(?:projects|environments)\/([^/]+)\/persons|person)\.(csv|json)$/i,
  );
  if (suffixed) {
    const segment = suffixed[1];
    return {
      teamSegment: segment === undefined ? null : decodeURIComponent(segment),
      rest: '',
      format: (suffixed[2] ?? '').toLowerCase(),
    };
  }
  const nested = path.match(/^\/api\/(?:projects|environments)\/([^/]+)\/persons(?:\/(.*))?$/);
  if (nested) return { teamSegment: decodeURIComponent(nested[1] ?? ''), rest: nested[2] ?? '' };
  const legacy = path.match(/^\/api\/person(?:\/(.*))?$/);
  if (legacy) return { teamSegment: null, rest: legacy[1] ?? '' };
  return null;
};

/**
 * Resolve the persons action for `rest`; 404 when nothing matches (DRF's `[^/.]+` lookup). With `funnelRoutes`
 * `removed` (current PostHog, PR #73064) `funnel` and `funnel/correlation` are not routes any more.
 */
export const resolveAction = (
  rest: string,
  funnelRoutes: FunnelRoutes = 'removed',
): RouteAction => {
  if (rest === '') return { ...LIST };
  const removed =
    funnelRoutes === 'removed' && (rest === 'funnel' || rest === 'funnel/correlation');
  const list = removed ? undefined : LIST_ROUTES[rest];
  if (list) return { ...list };
  const parts = rest.split('/');
  const id = parts[0] ?? '';
  if (id === '' || id.includes('.')) throw notFound();
  if (parts.length === 1) return { ...DETAIL, personId: decodeURIComponent(id) };
  if (parts.length === 2) {
    const action = DETAIL_ACTIONS[parts[1] ?? ''];
    if (action) return { ...action, personId: decodeURIComponent(id) };
  }
  throw notFound();
};
