import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { organizationalDomain } from './org-domain.ts';
import { CORPUS_DIR } from './zonefile.test-helper.ts';

const PINNED_PSL = `${CORPUS_DIR}/dmarc-suite/public_suffix_list.dat`;
/**
 * The bundled PSL (tldts) and the pinned corpus snapshot are different versions; rules added or
 * removed in between may disagree. More than this share means we read the list wrongly.
 */
const MAX_DISAGREEMENT_RATIO = 0.005;

function rulesOf(section: string): string[] {
  return section
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('//'));
}

describe('organizationalDomain', () => {
  it('should add one label to the public suffix (RFC 7489 §3.2)', () => {
    expect(organizationalDomain('a.b.example.co.uk')).toBe('example.co.uk');
    expect(organizationalDomain('mail.example.com')).toBe('example.com');
    expect(organizationalDomain('_dmarc.example.com')).toBe('example.com');
  });

  it('should make a public suffix its own organizational domain', () => {
    expect(organizationalDomain('com')).toBe('com');
    expect(organizationalDomain('co.uk')).toBe('co.uk');
  });

  it('should use the ICANN section only, not private suffixes like github.io', () => {
    expect(organizationalDomain('alice.github.io')).toBe('github.io');
    expect(organizationalDomain('bob.blogspot.com')).toBe('blogspot.com');
  });

  it('should agree with the pinned ICANN section of the corpus PSL and ignore its private section', () => {
    const text = readFileSync(PINNED_PSL, 'utf8');
    const [icann = '', privateSection = ''] = text.split('===BEGIN PRIVATE DOMAINS===');
    const disagreements: string[] = [];
    const icannRules = rulesOf(icann);
    for (const rule of icannRules) {
      // "*.x" makes every child of x a suffix; "!y.x" makes y.x registrable again.
      const probe = rule.startsWith('!')
        ? { name: `z.${rule.slice(1)}`, expected: rule.slice(1) }
        : rule.startsWith('*.')
          ? { name: `z.y.${rule.slice(2)}`, expected: `z.y.${rule.slice(2)}` }
          : { name: `z.${rule}`, expected: `z.${rule}` };
      const name = new URL(`http://${probe.name}`).hostname;
      const expected = new URL(`http://${probe.expected}`).hostname;
      if (organizationalDomain(name) !== expected) disagreements.push(rule);
    }
    expect(icannRules.length).toBeGreaterThan(5000);
    expect(disagreements.length / icannRules.length).toBeLessThanOrEqual(MAX_DISAGREEMENT_RATIO);

    const privateRules = rulesOf(privateSection).filter(
      (rule) => !rule.startsWith('*') && !rule.startsWith('!'),
    );
    const usedPrivate = privateRules.filter((rule) => organizationalDomain(`z.${rule}`) === `z.${rule}`);
    expect(privateRules.length).toBeGreaterThan(1000);
    expect(usedPrivate).toEqual([]);
  });
});
