import { isAnonymousId } from './ids.ts';
import type { PersonRow } from './store.ts';
import type { JsonObject, JsonValue } from './types.ts';

const DISPLAY_NAME_PROPERTIES = ['email', 'name', 'username'];

/** `sorted(distinct_ids, key=is_anonymous_id)`: non-anonymous ids first, stable otherwise. */
export const orderedDistinctIds = (p: PersonRow): string[] => [
  ...p.distinctIds.filter((d) => !isAnonymousId(d)),
  ...p.distinctIds.filter((d) => isAnonymousId(d)),
];

/** `get_person_name_helper`: first display property, then first non-anonymous distinct id, then str(pk). */
export const personName = (p: PersonRow): string => {
  for (const prop of DISPLAY_NAME_PROPERTIES) {
    const value = p.properties[prop];
    if (value !== undefined && value !== null && value !== '' && value !== false && value !== 0) {
      return typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  return orderedDistinctIds(p)[0] ?? String(p.pk);
};

/** Properties with access-controlled keys removed. */
export const visibleProperties = (p: PersonRow, restricted: ReadonlySet<string>): JsonObject => {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(p.properties))
    if (!restricted.has(k)) out[k] = structuredClone(v);
  return out;
};

/** `PersonSerializer` (retrieve, PATCH): integer `id`. */
export const personRecord = (p: PersonRow, restricted: ReadonlySet<string>): JsonObject => ({
  id: p.pk,
  name: personName(p),
  distinct_ids: orderedDistinctIds(p),
  properties: visibleProperties(p, restricted),
  created_at: p.createdAt,
  uuid: p.uuid,
  last_seen_at: p.lastSeenAt,
});

/**
 * `MinimalPerson` (batch_by_distinct_ids): `PersonRecord` with the person's first 10 distinct ids (stored order),
 * then sorted non-anonymous first like every `PersonSerializer` representation.
 */
export const minimalPerson = (p: PersonRow, restricted: ReadonlySet<string>): JsonObject => ({
  ...personRecord(p, restricted),
  distinct_ids: orderedDistinctIds({ ...p, distinctIds: p.distinctIds.slice(0, 10) }),
});

/**
 * `SerializedPerson` (list, funnel, correlation; `get_serialized_people`): `id` is the uuid string, and
 * `distinct_ids` keep their stored order (only `PersonSerializer.to_representation` sorts them).
 */
export const serializedPerson = (p: PersonRow, restricted: ReadonlySet<string>): JsonObject => ({
  type: 'person',
  id: p.uuid,
  uuid: p.uuid,
  created_at: p.createdAt,
  last_seen_at: p.lastSeenAt,
  properties: visibleProperties(p, restricted),
  is_identified: p.isIdentified,
  name: personName(p),
  distinct_ids: p.distinctIds.slice(0, 1000),
  matched_recordings: [] as JsonValue[],
  value_at_data_point: null,
});

const csvCell = (value: JsonValue | undefined): string => {
  if (value === undefined || value === null) return '';
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** The list as CSV (`format=csv`): flat columns like PostHog's CSV renderer (`properties.email`, `distinct_ids.0`). */
export const personsCsv = (rows: JsonObject[]): string => {
  const flat = rows.map((row) => {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(row)) {
      if (k === 'properties' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
        for (const [pk, pv] of Object.entries(v)) out[`properties.${pk}`] = pv;
      } else if (k === 'distinct_ids' && Array.isArray(v)) {
        v.forEach((d, i) => {
          out[`distinct_ids.${i}`] = d;
        });
      } else if (k !== 'matched_recordings') out[k] = v;
    }
    return out;
  });
  const columns: string[] = [];
  for (const row of flat)
    for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  const lines = [columns.join(',')];
  for (const row of flat) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
};
