import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  PERSON_UUIDV5_NAMESPACE,
  personUuidFromDistinctId,
  splitPersonUuid,
} from '../../../../lib/posthog/index.ts';
import { path, personRef } from '../../../../lib/posthog/path.ts';

/** RFC 4122 §4.3 uuid5, written out independently of the `uuid` package the client uses. */
function referenceUuid5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('splitPersonUuid', () => {
  it("is uuid5 of PostHog's namespace and 'teamId:distinctId'", () => {
    expect(PERSON_UUIDV5_NAMESPACE).toBe('932979b4-65c3-4424-8467-0b66ec27bc22');
    expect(splitPersonUuid(2, 'user@example.com')).toBe(
      referenceUuid5('2:user@example.com', PERSON_UUIDV5_NAMESPACE),
    );
    expect(splitPersonUuid('2', 'user@example.com')).toBe(splitPersonUuid(2, 'user@example.com'));
    expect(personUuidFromDistinctId(5, 'a')).toBe(referenceUuid5('5:a', PERSON_UUIDV5_NAMESPACE));
  });

  it('adds the :split suffix when the plain uuid is the source person', () => {
    const source = personUuidFromDistinctId(3, 'seed-id');
    expect(splitPersonUuid(3, 'seed-id', source.toUpperCase())).toBe(
      referenceUuid5('3:seed-id:split', PERSON_UUIDV5_NAMESPACE),
    );
    expect(splitPersonUuid(3, 'other-id', source)).toBe(
      referenceUuid5('3:other-id', PERSON_UUIDV5_NAMESPACE),
    );
  });
});

describe('path', () => {
  it('encodes every interpolated segment', () => {
    expect(path`/persons/${'a/b?c#d e'}/split/`).toBe('/persons/a%2Fb%3Fc%23d%20e/split/');
    expect(path`/projects/${7}/persons/`).toBe('/projects/7/persons/');
  });

  it('rejects empty and dot segments', () => {
    expect(() => path`/persons/${'..'}/`).toThrow(/not a valid segment/);
    expect(() => path`/persons/${''}/`).toThrow(/not a valid segment/);
  });

  it('accepts person ids and uuids only', () => {
    expect(personRef(12)).toBe('12');
    expect(personRef(' 12 ')).toBe('12');
    expect(personRef('0190F4A8-7E2B-7C3D-8E4F-A1B2C3D4E5F6')).toBe(
      '0190f4a8-7e2b-7c3d-8e4f-a1b2c3d4e5f6',
    );
    expect(() => personRef('user@example.com')).toThrow(/findByDistinctId/);
    expect(() => personRef(1.5)).toThrow(/positive integer/);
  });
});
