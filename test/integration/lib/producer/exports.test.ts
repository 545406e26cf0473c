import { describe, expect, it } from 'vitest';

describe('package exports', () => {
  it('exposes the producer and the message contract by package name', async () => {
    // Self-reference through package.json "exports", as another service would import them.
    const producer = await import('persons-relay/producer');
    const messages = await import('persons-relay/messages');
    expect(typeof producer.createProducer).toBe('function');
    expect(typeof messages.parseMessage).toBe('function');
    expect(messages.COMMAND_TYPES.delete).toBe('persons.delete');
  });
});
