import { v5 as uuidv5 } from 'uuid';
import type { EmulatorSeed, JsonObject, SeedEvent, SeedPerson } from './types.ts';

const DEMO_NAMESPACE = '6f0c2c52-3d4e-4f7a-9a51-3a1e1f2b7c10';
const demoUuid = (name: string): string => uuidv5(`demo:${name}`, DEMO_NAMESPACE);

interface DemoPerson {
  key: string;
  distinctIds: string[];
  properties: JsonObject;
  daysAgo: number;
  identified: boolean;
  /** How far through `$pageview → signed_up → purchase` this person got (0 = no funnel events). */
  funnel: 0 | 1 | 2 | 3;
}

const PEOPLE: DemoPerson[] = [
  {
    key: 'ada',
    distinctIds: ['crm-1001', 'ada@example.com', demoUuid('anon-ada')],
    properties: {
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      plan: 'enterprise',
      crm_id: 'crm-1001',
      company: 'Analytical Engines Ltd',
      lifecycle_stage: 'customer',
      newsletter: true,
    },
    daysAgo: 30,
    identified: true,
    funnel: 3,
  },
  {
    key: 'grace',
    distinctIds: ['crm-1002', demoUuid('anon-grace')],
    properties: {
      email: 'grace@example.com',
      name: 'Grace Hopper',
      plan: 'team',
      crm_id: 'crm-1002',
      company: 'Cobol Systems',
      lifecycle_stage: 'customer',
      newsletter: false,
    },
    daysAgo: 25,
    identified: true,
    funnel: 3,
  },
  {
    key: 'alan',
    distinctIds: ['crm-1003', 'alan.t'],
    properties: {
      email: 'alan@example.com',
      name: 'Alan Turing',
      plan: 'free',
      crm_id: 'crm-1003',
      company: 'Bletchley Labs',
      lifecycle_stage: 'lead',
      newsletter: true,
    },
    daysAgo: 20,
    identified: true,
    funnel: 2,
  },
  {
    key: 'katherine',
    distinctIds: ['crm-1004'],
    properties: {
      email: 'katherine@example.com',
      name: 'Katherine Johnson',
      plan: 'team',
      crm_id: 'crm-1004',
      company: 'Orbital Mechanics Inc',
      lifecycle_stage: 'customer',
      newsletter: true,
    },
    daysAgo: 18,
    identified: true,
    funnel: 3,
  },
  {
    key: 'linus',
    distinctIds: ['crm-1005', 'linus@example.com', 'linus-laptop', 'linus-phone'],
    properties: {
      email: 'linus@example.com',
      name: 'Linus Torvalds',
      plan: 'free',
      crm_id: 'crm-1005',
      company: 'Kernel Works',
      lifecycle_stage: 'lead',
      newsletter: false,
    },
    daysAgo: 15,
    identified: true,
    funnel: 2,
  },
  {
    key: 'margaret',
    distinctIds: ['crm-1006'],
    properties: {
      email: 'margaret@example.com',
      name: 'Margaret Hamilton',
      plan: 'enterprise',
      crm_id: 'crm-1006',
      company: 'Apollo Software',
      lifecycle_stage: 'customer',
      newsletter: true,
    },
    daysAgo: 12,
    identified: true,
    funnel: 1,
  },
  {
    key: 'dennis',
    distinctIds: ['crm-1007', 'dmr'],
    properties: {
      email: 'dennis@example.com',
      name: 'Dennis Ritchie',
      plan: 'team',
      crm_id: 'crm-1007',
      company: 'Bell Labs',
      lifecycle_stage: 'churned',
      newsletter: false,
    },
    daysAgo: 10,
    identified: true,
    funnel: 1,
  },
  {
    key: 'barbara',
    distinctIds: ['crm-1008'],
    properties: {
      email: 'barbara@example.com',
      name: 'Barbara Liskov',
      plan: 'free',
      crm_id: 'crm-1008',
      company: 'Substitution Co',
      lifecycle_stage: 'lead',
      newsletter: true,
    },
    daysAgo: 6,
    identified: true,
    funnel: 0,
  },
  {
    key: 'anon-1',
    distinctIds: [demoUuid('anon-1')],
    properties: { $browser: 'Firefox', $initial_referring_domain: 'news.example.org' },
    daysAgo: 4,
    identified: false,
    funnel: 1,
  },
  {
    key: 'anon-2',
    distinctIds: [demoUuid('anon-2')],
    properties: { $browser: 'Safari' },
    daysAgo: 3,
    identified: false,
    funnel: 2,
  },
  {
    key: 'anon-3',
    distinctIds: [demoUuid('anon-3')],
    properties: { $browser: 'Chrome' },
    daysAgo: 2,
    identified: false,
    funnel: 1,
  },
  {
    key: 'anon-4',
    distinctIds: [demoUuid('anon-4')],
    properties: {},
    daysAgo: 1,
    identified: false,
    funnel: 0,
  },
];

const FUNNEL_STEPS = ['$pageview', 'signed_up', 'purchase'] as const;
const BROWSERS = ['Chrome', 'Safari', 'Firefox'];

/** The demo funnel's steps, in order (legacy `events` filter param). */
export const DEMO_FUNNEL_EVENTS = FUNNEL_STEPS.map((id, order) => ({ id, type: 'events', order }));

/**
 * A realistic demo data set: 12 persons (8 identified CRM contacts with emails and CRM properties, several with
 * more than one distinct id, 4 anonymous visitors), funnel events from the last 5 days, and two static cohorts.
 * Timestamps are relative to `now`, so the funnel's default `date_from=-7d` covers them.
 */
export const demoSeed = (now: number = Date.now()): EmulatorSeed => {
  const day = 86_400_000;
  const persons: SeedPerson[] = PEOPLE.map((p) => ({
    uuid: demoUuid(p.key),
    distinctIds: p.distinctIds,
    properties: p.properties,
    createdAt: new Date(now - p.daysAgo * day).toISOString(),
    isIdentified: p.identified,
  }));
  const events: SeedEvent[] = [];
  PEOPLE.forEach((p, i) => {
    const start = now - (5 - (i % 5)) * day + i * 60_000;
    const distinctId = p.distinctIds[0] ?? p.key;
    // Events carry the person's own browser, so ingestion's $browser/$initial_browser agree with the seeded profile.
    const own = p.properties['$browser'];
    const browser = typeof own === 'string' ? own : (BROWSERS[i % BROWSERS.length] ?? 'Chrome');
    for (let s = 0; s < p.funnel; s++) {
      events.push({
        event: FUNNEL_STEPS[s] ?? '$pageview',
        distinctId,
        timestamp: new Date(start + s * 3_600_000).toISOString(),
        properties: { $browser: browser, $current_url: `https://app.example.com/step-${s + 1}` },
        uuid: demoUuid(`event-${p.key}-${s}`),
      });
    }
    if (p.funnel > 0 && i % 2 === 0) {
      events.push({
        event: 'viewed_pricing',
        distinctId,
        timestamp: new Date(start + 1_800_000).toISOString(),
        properties: { $browser: browser },
        uuid: demoUuid(`event-${p.key}-pricing`),
      });
    }
  });
  return {
    persons,
    events,
    cohorts: [
      {
        id: 1,
        name: 'Paying customers',
        members: ['crm-1001', 'crm-1002', 'crm-1004', 'crm-1006'],
      },
      {
        id: 2,
        name: 'Newsletter subscribers',
        members: ['crm-1001', 'crm-1003', 'crm-1004', 'crm-1006', 'crm-1008'],
      },
    ],
  };
};

/** `demoSeed()` evaluated when this module loaded. */
export const DEMO_SEED: EmulatorSeed = demoSeed();
