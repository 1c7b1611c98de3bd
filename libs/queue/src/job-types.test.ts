import { describe, expect, it } from 'vitest';
import { maxEchoDelayMs, maxEchoMessageLength, parseEchoPayload } from './job-types.ts';

describe('parseEchoPayload', () => {
  it('should accept a message with or without a delay', () => {
    expect(parseEchoPayload({ message: 'hi' })).toEqual({ ok: true, payload: { message: 'hi' } });
    expect(parseEchoPayload({ message: '', delayMs: maxEchoDelayMs })).toEqual({
      ok: true,
      payload: { message: '', delayMs: maxEchoDelayMs },
    });
  });

  it('should drop fields that are not part of the payload', () => {
    expect(parseEchoPayload({ message: 'hi', extra: 1 })).toEqual({ ok: true, payload: { message: 'hi' } });
  });

  it('should list every problem of a bad payload', () => {
    const result = parseEchoPayload({ message: 7, delayMs: maxEchoDelayMs + 1 });
    expect(result).toEqual({
      ok: false,
      problems: ['message must be a string', `delayMs must be an integer between 0 and ${maxEchoDelayMs}`],
    });
  });

  it('should refuse non-objects, fractional or negative delays and long messages', () => {
    for (const data of [null, 'echo', [], 3]) {
      expect(parseEchoPayload(data).ok, JSON.stringify(data)).toBe(false);
    }
    expect(parseEchoPayload({ message: 'x', delayMs: 1.5 }).ok).toBe(false);
    expect(parseEchoPayload({ message: 'x', delayMs: -1 }).ok).toBe(false);
    expect(parseEchoPayload({ message: 'x'.repeat(maxEchoMessageLength + 1) }).ok).toBe(false);
  });
});
