import type { CommandInput } from '../../lib/messages/index.ts';

/** Valid command bodies as producers write them (typed by the schema's input type). */

const TIME = '2026-11-28T09:00:00Z';

type DataOf<T extends CommandInput['type']> = Extract<CommandInput, { type: T }>['data'];

export const deleteBody = (id: string, data: DataOf<'persons.delete'>): string =>
  JSON.stringify({ type: 'persons.delete', id, time: TIME, data } satisfies CommandInput);

export const updateBody = (
  id: string,
  data: DataOf<'person.properties.update'>,
  time = TIME,
): string =>
  JSON.stringify({ type: 'person.properties.update', id, time, data } satisfies CommandInput);

export const splitBody = (id: string, data: DataOf<'person.split'>): string =>
  JSON.stringify({ type: 'person.split', id, time: TIME, data } satisfies CommandInput);

export const mergeBody = (id: string, data: DataOf<'person.merge'>): string =>
  JSON.stringify({ type: 'person.merge', id, time: TIME, data } satisfies CommandInput);
