import { describe, expect, it } from 'vitest';
import { commonPasswordCount, isCommonPassword } from './common-passwords.ts';
import { baselinePolicy, MAX_PASSWORD_LENGTH, passwordProblems, strictestPolicy } from './password-rules.ts';

const strong = 'Vivid-Otter-Quarry-Lantern 7';
const context = { userInputs: ['ann.lee@acme.example', 'Ann Lee', 'Acme Mail'] };
const messages = (password: string, policy = baselinePolicy) =>
  passwordProblems(password, policy, context).map((p) => p.message);

describe('password rules (NIST SP 800-63B-4 baseline)', () => {
  it('should accept a long passphrase with no composition rules', () => {
    expect(messages(strong)).toEqual([]);
    expect(messages('glacier tundra marmalade obelisk')).toEqual([]);
  });

  it('should want at least 15 characters, counted as code points after NFKC', () => {
    expect(messages('zq8-Kp3m!Lw2#R')).toContain('must have at least 15 characters');
    expect(messages('zq8-Kp3m!Lw2#Rt')).toEqual([]);
    // 15 emoji are 30 UTF-16 units but 15 characters.
    expect(
      passwordProblems('🦊🐙🦉🐢🦔🐝🦀🐬🦜🐌🦎🐞🦩🐊🦥', baselinePolicy, context).some((p) =>
        p.message.includes('at least'),
      ),
    ).toBe(false);
  });

  it('should accept far more than 64 characters and refuse only beyond 256', () => {
    const long = `${strong} `.repeat(8).slice(0, 200);
    expect(long.length).toBeGreaterThan(64);
    expect(messages(long)).toEqual([]);
    expect(messages('a'.repeat(MAX_PASSWORD_LENGTH + 1))).toEqual([
      `must have at most ${MAX_PASSWORD_LENGTH} characters`,
    ]);
  });

  it('should refuse listed and repeated common passwords', () => {
    expect(commonPasswordCount).toBeGreaterThan(300);
    for (const p of [
      'passwordpassword',
      'Password123456789',
      'correct horse battery staple',
      'qwertyuiopasdfgh',
      '1q2w3e4r5t6y7u8i',
      'aaaaaaaaaaaaaaaaaaaa',
      'abcabcabcabcabcabc',
      'iloveyouiloveyouiloveyou',
    ]) {
      expect(isCommonPassword(p), p).toBe(true);
      expect(messages(p), p).toContain('is a commonly used password; choose another');
    }
    expect(isCommonPassword(strong)).toBe(false);
  });

  it('should refuse what the strength estimate finds guessable, and the user own name or address', () => {
    expect(messages('annleeannleeannlee').join()).toMatch(/too easy to guess/);
    expect(messages('ann.lee@acme.example')).toContain('must not be your e-mail address or name');
    expect(messages('AcmeMail12345678').join()).toMatch(/too easy to guess/);
    expect(messages('qwerty123456789qwerty').join()).toMatch(/too easy to guess/);
  });

  it('should apply a tenant policy: longer minimum and required classes', () => {
    const policy = {
      ...baselinePolicy,
      minLength: 20,
      requiredClasses: ['upper', 'digit', 'symbol'] as const,
    };
    const found = messages('glacier tundra marmalade', {
      ...policy,
      requiredClasses: [...policy.requiredClasses],
    });
    expect(found).toEqual([
      'must contain a character of class upper (tenant policy)',
      'must contain a character of class digit (tenant policy)',
    ]);
    expect(
      messages('Glacier tundra marmalade 9', { ...policy, requiredClasses: [...policy.requiredClasses] }),
    ).toEqual([]);
    expect(messages(strong.slice(0, 18), { ...policy, requiredClasses: [] })).toContain(
      'must have at least 20 characters',
    );
  });

  it('should combine the policies of several tenants into the strictest', () => {
    expect(
      strictestPolicy([
        { minLength: 20, requiredClasses: ['digit'], maxAgeDays: 90, historyCount: 3 },
        { minLength: 16, requiredClasses: ['upper', 'digit'], maxAgeDays: 0, historyCount: 5 },
        { minLength: 15, requiredClasses: [], maxAgeDays: 30, historyCount: 0 },
      ]),
    ).toEqual({ minLength: 20, requiredClasses: ['digit', 'upper'], maxAgeDays: 30, historyCount: 5 });
    expect(strictestPolicy([])).toEqual(baselinePolicy);
  });
});
