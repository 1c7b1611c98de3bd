import type { FieldProblem } from '@mailwarden/core';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';
import { isCommonPassword } from './common-passwords.ts';

/**
 * Password rules: the NIST SP 800-63B-4 (§3.1.1.2) baseline every password meets, plus a tenant's
 * stricter policy. The baseline: at least 15 characters (a password is often the only factor), at
 * least 64 accepted (we take 256), no truncation, no composition rules by default, refused when
 * common or guessable. Length counts Unicode code points after NFKC, as the standard says.
 */
export const characterClasses = ['lower', 'upper', 'digit', 'symbol'] as const;
export type CharacterClass = (typeof characterClasses)[number];

export interface PasswordPolicy {
  minLength: number;
  requiredClasses: CharacterClass[];
  /** 0: never expires. */
  maxAgeDays: number;
  /** 0: reuse allowed. */
  historyCount: number;
}

export const BASELINE_MIN_LENGTH = 15;
export const MAX_PASSWORD_LENGTH = 256;
/** zxcvbn score 3: "safely unguessable: moderate protection from offline slow-hash scenario". */
export const MIN_STRENGTH_SCORE = 3;

export const baselinePolicy: PasswordPolicy = {
  minLength: BASELINE_MIN_LENGTH,
  requiredClasses: [],
  maxAgeDays: 0,
  historyCount: 0,
};

/** One password serves every tenant a user belongs to, so it must satisfy all their policies. */
export function strictestPolicy(policies: readonly PasswordPolicy[]): PasswordPolicy {
  return policies.reduce<PasswordPolicy>(
    (acc, p) => ({
      minLength: Math.max(acc.minLength, p.minLength),
      requiredClasses: [...new Set([...acc.requiredClasses, ...p.requiredClasses])].sort(),
      maxAgeDays:
        acc.maxAgeDays === 0
          ? p.maxAgeDays
          : p.maxAgeDays === 0
            ? acc.maxAgeDays
            : Math.min(acc.maxAgeDays, p.maxAgeDays),
      historyCount: Math.max(acc.historyCount, p.historyCount),
    }),
    baselinePolicy,
  );
}

const classTests: Record<CharacterClass, RegExp> = {
  lower: /\p{Ll}/u,
  upper: /\p{Lu}/u,
  digit: /\p{Nd}/u,
  symbol: /[^\p{L}\p{Nd}]/u,
};

let zxcvbn: ZxcvbnFactory | undefined;
function strengthEstimator(): ZxcvbnFactory {
  // Building the dictionaries takes a while; do it once, on first use.
  zxcvbn ??= new ZxcvbnFactory({
    dictionary: { ...dictionary },
    graphs: adjacencyGraphs,
    maxLength: MAX_PASSWORD_LENGTH,
  });
  return zxcvbn;
}

export interface PasswordContext {
  /** Words an attacker would try first for this user: e-mail parts, names, the tenant. */
  userInputs: string[];
}

/** Every way the password falls short; empty when it may be used. Never echoes the password. */
export function passwordProblems(
  password: string,
  policy: PasswordPolicy,
  context: PasswordContext,
  location = 'body.password',
): FieldProblem[] {
  const normalized = password.normalize('NFKC');
  const length = [...normalized].length;
  const minLength = Math.max(BASELINE_MIN_LENGTH, policy.minLength);
  const problems: FieldProblem[] = [];
  if (length < minLength) problems.push({ location, message: `must have at least ${minLength} characters` });
  if (length > MAX_PASSWORD_LENGTH) {
    problems.push({ location, message: `must have at most ${MAX_PASSWORD_LENGTH} characters` });
    return problems;
  }
  for (const cls of policy.requiredClasses) {
    if (!classTests[cls].test(normalized)) {
      problems.push({ location, message: `must contain a character of class ${cls} (tenant policy)` });
    }
  }
  if (isCommonPassword(normalized)) {
    problems.push({ location, message: 'is a commonly used password; choose another' });
  } else if (length >= minLength) {
    const inputs = expandUserInputs(context.userInputs);
    if (inputs.some((input) => input.length >= 4 && normalized.toLowerCase() === input)) {
      problems.push({ location, message: 'must not be your e-mail address or name' });
    } else {
      const result = strengthEstimator().check(normalized, inputs);
      if (result.score < MIN_STRENGTH_SCORE) {
        problems.push({
          location,
          message: `is too easy to guess (strength ${result.score} of 4, at least ${MIN_STRENGTH_SCORE} needed); longer and less predictable passphrases pass`,
        });
      }
    }
  }
  return problems;
}

/** `ann.lee@acme.example` also gives `ann.lee`, `ann`, `lee`, `acme`. */
function expandUserInputs(inputs: string[]): string[] {
  const out = new Set<string>();
  for (const raw of inputs) {
    const value = raw.toLowerCase().trim();
    if (!value) continue;
    out.add(value);
    out.add(value.replace(/\s+/g, ''));
    for (const part of value.split(/[@.\s_+-]+/)) if (part.length >= 3) out.add(part);
    const at = value.indexOf('@');
    if (at > 0) out.add(value.slice(0, at));
  }
  return [...out];
}
