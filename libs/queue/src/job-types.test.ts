import { describe, expect, it } from 'vitest';
import { jobIdProblem } from './job-id.ts';
import {
  mailboxPollJobId,
  maxBatchChecks,
  maxEchoDelayMs,
  maxEchoMessageLength,
  parseEchoPayload,
  parseMailboxRef,
  parseRunChecksPayload,
} from './job-types.ts';

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

describe('poll-mailbox jobs', () => {
  const tenantId = '01938b5e-0000-7000-8000-000000000001';
  const mailboxId = '01938b5e-0000-7000-8000-000000000002';

  it('should take tenant and mailbox uuids and nothing else', () => {
    expect(parseMailboxRef({ tenantId, mailboxId, password: 'x' })).toEqual({
      ok: true,
      payload: { tenantId, mailboxId },
    });
    for (const data of [null, {}, { tenantId }, { tenantId, mailboxId: 'mbx_1' }, { tenantId: 1, mailboxId }])
      expect(parseMailboxRef(data).ok, JSON.stringify(data)).toBe(false);
  });

  it('should name one poll per mailbox and minute, and asked-for polls apart', () => {
    const slot = 29_876_543;
    expect(mailboxPollJobId(mailboxId, slot)).toBe(`imap.${mailboxId}.${slot}`);
    expect(mailboxPollJobId(mailboxId, slot, true)).toBe(`imap.${mailboxId}.now.${slot}`);
    expect(jobIdProblem(mailboxPollJobId(mailboxId, slot))).toBeUndefined();
    expect(jobIdProblem(mailboxPollJobId(mailboxId, slot, true))).toBeUndefined();
  });
});

describe('run-checks jobs', () => {
  const target = {
    tenantId: '0190b6b0-0000-7000-8000-000000000001',
    domainId: '0190b6b0-0000-7000-8000-000000000002',
  };
  const check = (name: string, extra: object = {}) => ({
    name,
    family: 'dns',
    slot: '2027-01-01T00:00:00Z',
    targets: [target],
    ...extra,
  });

  it('should take checks of its own family, with their chunk, and normalise slots', () => {
    expect(
      parseRunChecksPayload({ family: 'dns', checks: [check('a.test'), check('b.test', { chunk: 2 })] }),
    ).toEqual({
      ok: true,
      payload: {
        family: 'dns',
        checks: [
          { name: 'a.test', family: 'dns', slot: '2027-01-01T00:00:00.000Z', targets: [target] },
          { name: 'b.test', family: 'dns', slot: '2027-01-01T00:00:00.000Z', targets: [target], chunk: 2 },
        ],
      },
    });
  });

  it('should refuse an empty or oversized batch, a mixed family and a bad entry', () => {
    expect(parseRunChecksPayload({ family: 'dns', checks: [] }).ok).toBe(false);
    const many = Array.from({ length: maxBatchChecks + 1 }, (_, i) => check(`n${i}.test`));
    expect(parseRunChecksPayload({ family: 'dns', checks: many }).ok).toBe(false);
    expect(parseRunChecksPayload({ family: 'tls', checks: [check('a.test')] })).toEqual({
      ok: false,
      problems: ['checks[0]: family must be tls'],
    });
    expect(parseRunChecksPayload({ family: 'dns', checks: [check('a.test', { chunk: -1 })] })).toEqual({
      ok: false,
      problems: ['checks[0]: chunk must be a small non-negative integer'],
    });
    expect(parseRunChecksPayload({ family: 'smtp', checks: [check('a.test')] }).ok).toBe(false);
    expect(parseRunChecksPayload([check('a.test')]).ok).toBe(false);
  });
});
