import type { ApiRequest, ApiResult, EmulatorContext } from './context.ts';
import { pageUrl, withParams } from './context.ts';
import { serverError, validationError } from './errors.ts';
import { parseUuid } from './ids.ts';
import { serializedPerson } from './serialize.ts';
import type { EventRow, PersonRow } from './store.ts';
import type { JsonObject, JsonValue } from './types.ts';

const DAY = 86_400_000;

interface Step {
  id: string;
  order: number;
}

interface FunnelFilter {
  steps: Step[];
  windowMs: number;
  from: number;
  to: number;
  orderType: 'ordered' | 'strict' | 'unordered';
  breakdown: string | null;
  breakdownType: string;
  stepBreakdown: string | null;
  search: string | null;
}

/** Legacy `Filter(request=request)`: query string and body together, the body winning. */
const paramReader =
  (req: ApiRequest) =>
  (name: string): JsonValue | undefined => {
    if (req.body[name] !== undefined) return req.body[name];
    const q = req.query.get(name);
    return q === null ? undefined : q;
  };

const parseJsonParam = (value: JsonValue | undefined): JsonValue | undefined => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as JsonValue;
  } catch {
    throw validationError(`Could not parse ${value.slice(0, 40)} as JSON`);
  }
};

const asInt = (value: JsonValue | undefined, fallback: number): number => {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n)) throw serverError();
  return n;
};

/** `date_from`/`date_to`: ISO dates or times, relative `-7d`/`-24h`/`-2w`/`-1m`/`-1y`, or `all`. */
const parseDate = (value: JsonValue | undefined, fallback: number, endOfDay: boolean): number => {
  if (value === undefined || value === null || value === '') return fallback;
  const s = String(value);
  if (s === 'all') return 0;
  const rel = s.match(/^-(\d+)([hdwmyHM])$/);
  if (rel) {
    const n = Number(rel[1]);
    const unit = rel[2];
    const ms =
      unit === 'h' || unit === 'H'
        ? 3_600_000
        : unit === 'd'
          ? DAY
          : unit === 'w'
            ? 7 * DAY
            : unit === 'm'
              ? 30 * DAY
              : unit === 'M'
                ? 60_000
                : 365 * DAY;
    return Date.now() - n * ms;
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const start = Date.parse(`${s}T00:00:00Z`);
    return endOfDay ? start + DAY - 1 : start;
  }
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw validationError(`Unknown date ${s}`);
  return t;
};

const readFilter = (req: ApiRequest): FunnelFilter => {
  const get = paramReader(req);
  const events = parseJsonParam(get('events')) ?? [];
  const actions = parseJsonParam(get('actions')) ?? [];
  if (Array.isArray(actions) && actions.length > 0) {
    throw validationError('The emulator supports event steps only, not actions.');
  }
  if (!Array.isArray(events)) throw validationError('events must be a list');
  const steps = events
    .map((e, i) => {
      const o = (typeof e === 'object' && e !== null && !Array.isArray(e) ? e : {}) as JsonObject;
      return { id: String(o['id'] ?? ''), order: typeof o['order'] === 'number' ? o['order'] : i };
    })
    .sort((a, b) => a.order - b.order);
  const order = String(get('funnel_order_type') ?? 'ordered');
  const unit = String(get('funnel_window_interval_unit') ?? 'day');
  const interval = get('funnel_window_interval');
  const unitMs: Record<string, number> = {
    second: 1000,
    minute: 60_000,
    hour: 3_600_000,
    day: DAY,
    week: 7 * DAY,
    month: 30 * DAY,
  };
  const windowMs =
    interval !== undefined
      ? asInt(interval, 14) * (unitMs[unit] ?? DAY)
      : asInt(get('funnel_window_days'), 14) * DAY;
  const breakdown = get('breakdown');
  const parsedBreakdown =
    typeof breakdown === 'string' && breakdown.startsWith('[')
      ? parseJsonParam(breakdown)
      : breakdown;
  const breakdownName = Array.isArray(parsedBreakdown) ? parsedBreakdown[0] : parsedBreakdown;
  const stepBreakdown = get('funnel_step_breakdown');
  const search = get('search');
  return {
    steps,
    windowMs,
    from: parseDate(get('date_from'), Date.now() - 7 * DAY, false),
    to: parseDate(get('date_to'), Date.now(), true),
    orderType: order === 'strict' || order === 'unordered' ? order : 'ordered',
    breakdown: breakdownName === undefined || breakdownName === null ? null : String(breakdownName),
    breakdownType: String(get('breakdown_type') ?? 'event'),
    stepBreakdown:
      stepBreakdown === undefined || stepBreakdown === null ? null : String(stepBreakdown),
    search: search === undefined || search === null || search === '' ? null : String(search),
  };
};

/** One person's best path through the funnel. */
interface Path {
  personUuid: string;
  reached: number;
  entry: EventRow;
  events: EventRow[];
}

const bestPath = (f: FunnelFilter, events: EventRow[]): Omit<Path, 'personUuid'> | null => {
  const n = f.steps.length;
  let best: Omit<Path, 'personUuid'> | null = null;
  for (let i = 0; i < events.length; i++) {
    const start = events[i] as EventRow;
    const t0 = Date.parse(start.timestamp);
    let reached = 0;
    if (f.orderType === 'unordered') {
      if (!f.steps.some((s) => s.id === start.event)) continue;
      const seen = new Set<string>();
      for (const e of events.slice(i)) {
        if (Date.parse(e.timestamp) > t0 + f.windowMs) break;
        if (f.steps.some((s) => s.id === e.event)) seen.add(e.event);
      }
      reached = Math.min(n, f.steps.filter((s) => seen.has(s.id)).length);
    } else {
      if (start.event !== f.steps[0]?.id) continue;
      reached = 1;
      let last = t0;
      let j = i + 1;
      while (reached < n && j < events.length) {
        const e = events[j] as EventRow;
        const t = Date.parse(e.timestamp);
        if (t > t0 + f.windowMs) break;
        if (e.event === f.steps[reached]?.id && t >= last) {
          reached += 1;
          last = t;
        } else if (f.orderType === 'strict') break;
        j += 1;
      }
    }
    if (!best || reached > best.reached) best = { reached, entry: start, events };
    if (reached === n) break;
  }
  return best;
};

/** Every person's best path for the funnel, keyed by the person uuid events count for now (after merges). */
const funnelPaths = (ctx: EmulatorContext, teamId: number, f: FunnelFilter): Path[] => {
  if (f.steps.length === 0) return [];
  const byPerson = new Map<string, EventRow[]>();
  for (const e of ctx.store.events) {
    if (e.teamId !== teamId || e.personUuid === null) continue;
    const t = Date.parse(e.timestamp);
    if (t < f.from || t > f.to) continue;
    const uuid = ctx.store.resolveUuid(e.personUuid);
    const list = byPerson.get(uuid);
    if (list) list.push(e);
    else byPerson.set(uuid, [e]);
  }
  const paths: Path[] = [];
  for (const [personUuid, events] of byPerson) {
    events.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || a.seq - b.seq);
    const best = bestPath(f, events);
    if (best && best.reached > 0) paths.push({ personUuid, ...best });
  }
  return paths.sort((a, b) =>
    a.personUuid < b.personUuid ? -1 : a.personUuid > b.personUuid ? 1 : 0,
  );
};

const breakdownValue = (ctx: EmulatorContext, teamId: number, f: FunnelFilter, p: Path): string => {
  if (!f.breakdown) return '';
  const value =
    f.breakdownType === 'person'
      ? ctx.store.byUuid(teamId, p.personUuid)?.properties[f.breakdown]
      : p.entry.properties[f.breakdown];
  return value === undefined || value === null ? '' : String(value);
};

const matchesSearch = (person: PersonRow, search: string): boolean => {
  const needle = search.toLowerCase();
  return (
    ['email', 'name'].some((k) =>
      String(person.properties[k] ?? '')
        .toLowerCase()
        .includes(needle),
    ) ||
    person.distinctIds.includes(search) ||
    person.uuid === parseUuid(search)
  );
};

/** Page raw actor uuids into the legacy actors response (`missing_persons` = raw minus returnable). */
const actorsResponse = (
  ctx: EmulatorContext,
  req: ApiRequest,
  f: FunnelFilter,
  uuids: string[],
  limit: number,
  offset: number,
  offsetParam: string,
): ApiResult => {
  let candidates = uuids;
  if (f.search) {
    const search = f.search;
    candidates = uuids.filter((u) => {
      const p = ctx.store.byUuid(req.teamId, u);
      return p !== undefined && matchesSearch(p, search);
    });
  }
  const raw = candidates.slice(offset, offset + limit);
  const people = raw
    .map((u) => ctx.store.byUuid(req.teamId, u))
    .filter((p): p is PersonRow => p !== undefined && !p.clickhouseOnly)
    .map((p) => serializedPerson(p, ctx.restricted));
  return {
    status: 200,
    body: {
      results: [{ people, count: people.length }],
      next:
        raw.length >= limit && limit > 0
          ? pageUrl(ctx, req.path, withParams(req.query, { [offsetParam]: offset + limit }))
          : null,
      initial: pageUrl(ctx, req.path, withParams(req.query, { offset: 0 })),
      missing_persons: raw.length - people.length,
      is_cached: false,
      last_refresh: new Date().toISOString(),
    },
  };
};

/** GET/POST persons/funnel/ — persons at a funnel step (positive: converted through it; negative: dropped there). */
export const funnelPersons = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const get = paramReader(req);
  const f = readFilter(req);
  const stepRaw = get('funnel_step');
  // PostHog's answer to a missing step is not recorded (FunnelsActorsQuery gets funnelStep=None); the emulator
  // names the parameter instead of failing with a 500.
  const step =
    stepRaw === undefined || stepRaw === null || stepRaw === ''
      ? 0
      : Number.isInteger(Number(stepRaw))
        ? Number(stepRaw)
        : Number.NaN;
  if (step === 0 || Number.isNaN(step)) {
    throw validationError(
      'funnel_step is required: a positive step number lists the persons who reached that step, a negative one those who dropped off before it (e.g. 1 or -2).',
      'funnel_step',
    );
  }
  const paths = funnelPaths(ctx, req.teamId, f).filter((p) =>
    step > 0 ? p.reached >= step : p.reached === -step - 1,
  );
  const filtered =
    f.stepBreakdown !== null
      ? paths.filter((p) => breakdownValue(ctx, req.teamId, f, p) === f.stepBreakdown)
      : paths;
  return actorsResponse(
    ctx,
    req,
    f,
    filtered.map((p) => p.personUuid),
    asInt(get('limit'), 100),
    asInt(get('offset'), 0),
    'offset',
  );
};

/**
 * GET/POST persons/funnel/correlation/ — persons who entered the funnel, converted or not
 * (`funnel_correlation_person_converted`), and did `funnel_correlation_person_entity` inside their funnel window.
 */
export const funnelCorrelationPersons = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const get = paramReader(req);
  const f = readFilter(req);
  const entity = parseJsonParam(get('funnel_correlation_person_entity'));
  if (typeof entity !== 'object' || entity === null || Array.isArray(entity)) {
    throw validationError('funnel_correlation_person_entity is required');
  }
  const entityId = String(entity['id'] ?? '');
  const convertedRaw = get('funnel_correlation_person_converted');
  const wantConverted =
    convertedRaw === undefined || convertedRaw === null
      ? null
      : String(convertedRaw).toLowerCase() === 'true';
  const n = f.steps.length;
  const uuids = funnelPaths(ctx, req.teamId, f)
    .filter((p) => wantConverted === null || (p.reached === n) === wantConverted)
    .filter((p) => {
      const t0 = Date.parse(p.entry.timestamp);
      return p.events.some((e) => {
        const t = Date.parse(e.timestamp);
        return e.event === entityId && t >= t0 && t <= t0 + f.windowMs;
      });
    })
    .map((p) => p.personUuid);
  return actorsResponse(
    ctx,
    req,
    f,
    uuids,
    asInt(get('funnel_correlation_person_limit'), 100),
    asInt(get('funnel_correlation_person_offset'), 0),
    'funnel_correlation_person_offset',
  );
};
