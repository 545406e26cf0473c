import { DEMO_FUNNEL_EVENTS } from './posthog-emulator/demo-seed.ts';
import { demoSeed, startPostHogEmulator } from './posthog-emulator/index.ts';

// Interim `npm start`: start the PostHog emulator with the demo seed, show what it serves, stop.
// The runtime area replaces this with the full local pipeline.
const emulator = await startPostHogEmulator({ seed: demoSeed() });
try {
  const api = `${emulator.url}/api/projects/${emulator.projectId}/persons`;
  const headers = { Authorization: `Bearer ${emulator.personalApiKey}` };
  const list = (await (await fetch(`${api}/?include_total`, { headers })).json()) as {
    count: number;
  };
  const events = encodeURIComponent(JSON.stringify(DEMO_FUNNEL_EVENTS));
  const funnel = (await (
    await fetch(`${api}/funnel/?funnel_step=3&events=${events}`, { headers })
  ).json()) as { results: { count: number }[] };
  const state = emulator.state;
  console.log(
    [
      `PostHog emulator at ${emulator.url} (project ${emulator.projectId})`,
      `  personal API key ${emulator.personalApiKey}, project token ${emulator.projectToken}`,
      `  persons API  ${api}/  (list, retrieve, DELETE, bulk_delete, batch_by_distinct_ids, split,`,
      '               update_property, delete_property, activity, cohorts, deletion_status, funnel, funnel/correlation)',
      `  capture      ${emulator.url}/i/v0/e/ and ${emulator.url}/batch/`,
      `  seeded: ${list.count} persons, ${state.events.length} events, ${state.cohorts.length} cohorts;` +
        ` ${funnel.results[0]?.count ?? 0} persons completed the demo funnel`,
    ].join('\n'),
  );
} finally {
  await emulator.close();
}
