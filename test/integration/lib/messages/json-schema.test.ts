import { readdir, readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  COMMAND_TYPES,
  commandJsonSchemas,
  parseMessage,
  renderJsonSchema,
} from '../../../../lib/messages/index.ts';
import { deleteCommand, mergeCommand, splitCommand, updateCommand } from './factories.ts';

const root = new URL('../../../../', import.meta.url);

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule })
  .default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

async function loadValidators() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const validators = new Map<string, ReturnType<Ajv2020['compile']>>();
  for (const type of Object.values(COMMAND_TYPES)) {
    const schema = JSON.parse(await readFile(new URL(`schemas/${type}.v1.json`, root), 'utf8'));
    validators.set(type, ajv.compile(schema));
  }
  return validators;
}

interface Example {
  envelope: string;
  json: string;
}

async function docExamples(): Promise<Example[]> {
  const text = await readFile(new URL('docs/messages.md', root), 'utf8');
  const pattern = /<!-- example envelope=(\w+) -->\n```json\n([\s\S]*?)\n```/g;
  return [...text.matchAll(pattern)].map((m) => ({ envelope: m[1] ?? '', json: m[2] ?? '' }));
}

type Loose = Record<string, unknown> &
  Partial<
    Record<'Type' | 'Message' | 'type' | 'id' | 'time' | 'source' | 'data' | 'detail', unknown>
  >;

/** Unwraps an envelope without the project's parser, so ajv checks what the producer wrote. */
function unwrap(value: Loose): Loose {
  if (value.Type === 'Notification') return unwrap(JSON.parse(String(value.Message)));
  if ('detail-type' in value) {
    return {
      type: value['detail-type'],
      id: value.id,
      time: value.time,
      source: value.source,
      data: value.detail,
    };
  }
  if ('specversion' in value) {
    return {
      type: value.type,
      id: value.id,
      time: value.time,
      source: value.source,
      data: value.data,
    };
  }
  return value;
}

describe('published JSON Schemas', () => {
  it('match the zod schemas (run `npm run schemas` when this fails)', async () => {
    const expected = commandJsonSchemas();
    const files = (await readdir(new URL('schemas/', root)))
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files).toEqual(Object.keys(expected).sort());
    for (const [file, schema] of Object.entries(expected)) {
      const onDisk = await readFile(new URL(`schemas/${file}`, root), 'utf8');
      expect(onDisk, file).toBe(renderJsonSchema(schema));
    }
  });

  it('accept the test factories and reject what the structure forbids (ajv)', async () => {
    const validators = await loadValidators();
    for (const command of [deleteCommand(), splitCommand(), updateCommand(), mergeCommand()]) {
      expect(validators.get(String(command.type))?.(command)).toBe(true);
    }
    const validate = validators.get(COMMAND_TYPES.delete);
    expect(validate?.(deleteCommand({ distinctIds: [''] }))).toBe(false);
    // Blank strings are refused by both, not only by zod.
    expect(validate?.(deleteCommand({ distinctIds: ['  '] }))).toBe(false);
    expect(validate?.(deleteCommand(undefined, { source: ' \t' }))).toBe(false);
    expect(
      validators.get(COMMAND_TYPES.update)?.(
        updateCommand({ distinctId: 'crm-1', set: { ' ': 1 } }),
      ),
    ).toBe(false);
    expect(validate?.(deleteCommand({ distinctIds: ['a'], deleteEvent: true }))).toBe(false);
    expect(validate?.(deleteCommand(undefined, { time: '2026-11-28' }))).toBe(false);
  });
});

describe('docs/messages.md examples', () => {
  it('cover every command and every envelope', async () => {
    const examples = await docExamples();
    const types = new Set(examples.map((e) => String(unwrap(JSON.parse(e.json)).type)));
    expect(types).toEqual(new Set(Object.values(COMMAND_TYPES)));
    expect(new Set(examples.map((e) => e.envelope))).toEqual(
      new Set(['bare', 'eventbridge', 'sns', 'cloudevents']),
    );
  });

  it('validate against the published JSON Schemas with ajv', async () => {
    const validators = await loadValidators();
    for (const example of await docExamples()) {
      const command = unwrap(JSON.parse(example.json));
      const validate = validators.get(String(command.type));
      expect(validate, String(command.type)).toBeDefined();
      const valid = validate?.(command);
      expect(validate?.errors ?? [], example.json).toEqual([]);
      expect(valid).toBe(true);
    }
  });

  it('parse with parseMessage in the envelope they show', async () => {
    for (const example of await docExamples()) {
      expect(parseMessage(example.json), example.json).toMatchObject({
        ok: true,
        envelope: example.envelope,
      });
    }
  });
});
