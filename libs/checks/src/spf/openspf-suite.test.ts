/**
 * The openspf YAML test suites (../shared/corpus/spf-suite), loaded as they are and run through
 * `evaluate` against the in-memory zone resolver.
 *
 * Suite driver conventions (from the suite's own header and pyspf's driver):
 * - `SPF` entries are type 99 records. RFC 7208 §3.1 / §14.1: type 99 is never consulted. The
 *   suite relies on drivers copying SPF entries to TXT when a name has no TXT entry at all (and
 *   `TXT: NONE` means "no TXT records here"); that is what the "Selecting records" section tests.
 * - `TIMEOUT` makes queries at the name time out for the types it has no records of.
 * - A result list means any member is acceptable. `explanation: DEFAULT` means "no exp= text".
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusPath } from '@mailwarden/testing/corpus';
import { createZoneResolver, type Zone, type ZoneNode } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { evaluate, type SpfResult } from './evaluate.ts';

const SUITE_DIR = corpusPath('spf-suite');

interface SuiteCase {
  description?: string;
  spec?: string | number;
  helo: string;
  host: string;
  mailfrom: string | null;
  result: SpfResult | SpfResult[] | 'ambiguous';
  explanation?: string;
  receiver?: string;
}
interface SuiteDocument {
  description?: string;
  comment?: string;
  tests?: Record<string, SuiteCase>;
  zonedata?: Record<string, Array<Record<string, unknown> | string>>;
}

interface Disputed {
  /** Results we accept instead of the suite's, and why. */
  accept?: SpfResult[];
  /** Compare the explanation ignoring case. */
  explanationIgnoringCase?: boolean;
  reason: string;
}

/**
 * Cases where the suite's expectation is not RFC 7208's, each with the reason. Keys are
 * "<file> <case>".
 */
const DISPUTED: Record<string, Disputed> = {
  ...Object.fromEntries(
    [
      'pyspf/rfc7208-tests.yml',
      'mailauth/rfc7208-tests.yml',
      'mailauth/rfc7208-tests-2014-05.yml',
      'pyspf/rfc4408-tests.yml',
    ].map((file) => [
      `${file} v-macro-ip6`,
      {
        explanationIgnoringCase: true,
        reason:
          'The suite expects %{ir} nibbles in upper case (pyspf prints them so); RFC 7208 §7.4 shows lower-case nibbles, which we produce. DNS names are case-insensitive, so only the explanation text differs.',
      },
    ]),
  ),
  'pyspf/pyspf-extra-test.yml default-modifier': {
    accept: ['neutral'],
    reason:
      'pyspf "lax mode" honours the obsolete pre-RFC default= modifier. RFC 7208 §6 ignores unknown modifiers; the RFC 7208 suite itself (default-modifier-obsolete) expects neutral for the same record.',
  },
  'pyspf/pyspf-extra-test.yml default-modifier-harsh': {
    accept: ['neutral'],
    reason:
      '"ambiguous" is a pyspf-only result for the obsolete default= modifier, not an RFC 7208 result (§2.6).',
  },
};

function zoneOf(zonedata: SuiteDocument['zonedata']): Zone {
  const zone: Zone = {};
  for (const [name, entries] of Object.entries(zonedata ?? {})) {
    const node: ZoneNode = {};
    const spf: string[][] = [];
    let hasTxt = false;
    const push = <T extends keyof ZoneNode>(type: T, value: unknown) => {
      const list = (node[type] ?? []) as unknown[];
      list.push(value);
      (node as Record<string, unknown>)[type] = list;
    };
    for (const entry of entries) {
      if (entry === 'TIMEOUT') {
        node.unknown = 'timeout';
        continue;
      }
      if (typeof entry === 'string') throw new Error(`unknown zonedata marker ${entry} at ${name}`);
      for (const [type, value] of Object.entries(entry)) {
        const strings = typeof value === 'string' ? [value] : (value as string[]);
        if (type === 'SPF') spf.push(strings);
        else if (type === 'TXT') {
          hasTxt = true;
          if (value !== 'NONE') push('TXT', strings);
        } else if (type === 'MX') push('MX', value as [number, string]);
        else if (['A', 'AAAA', 'PTR', 'CNAME'].includes(type)) push(type as 'A', value);
        else throw new Error(`unknown zonedata type ${type} at ${name}`);
      }
    }
    if (!hasTxt && spf.length > 0) node.TXT = spf;
    zone[name] = node;
  }
  return zone;
}

function loadSuite(file: string): SuiteDocument[] {
  const text = readFileSync(join(SUITE_DIR, file), 'utf8');
  return parseAllDocuments(text)
    .map((document) => document.toJS() as SuiteDocument | null)
    .filter((document): document is SuiteDocument => document?.tests !== undefined);
}

const SUITES = [
  'pyspf/rfc7208-tests.yml',
  'mailauth/rfc7208-tests.yml',
  'mailauth/rfc7208-tests-2014-05.yml',
  'pyspf/rfc4408-tests.yml',
  'pyspf/pyspf-extra-test.yml',
];

const used = new Set<string>();

for (const file of SUITES) {
  describe(`openspf suite ${file}`, () => {
    const documents = loadSuite(file);

    it('should hold test cases', () => {
      expect(documents.flatMap((document) => Object.keys(document.tests ?? {})).length).toBeGreaterThan(5);
    });

    for (const document of documents) {
      const zone = zoneOf(document.zonedata);
      describe(document.description ?? document.comment?.trim().split('\n')[0] ?? 'untitled', () => {
        for (const [name, test] of Object.entries(document.tests ?? {})) {
          const disputed = DISPUTED[`${file} ${name}`];
          if (disputed) used.add(`${file} ${name}`);
          it(`should give ${JSON.stringify(test.result)} for ${name}${disputed ? ' (disputed)' : ''}`, async () => {
            const resolver = createZoneResolver(zone);
            const outcome = await evaluate(
              {
                ip: test.host,
                mailFrom: test.mailfrom ?? '',
                helo: test.helo,
                ...(test.receiver ? { receiver: test.receiver } : {}),
              },
              resolver,
            );
            const accepted = disputed?.accept ?? (Array.isArray(test.result) ? test.result : [test.result]);
            expect(accepted, `${outcome.problem ?? ''} ${outcome.mechanism ?? ''}`).toContain(outcome.result);
            if (test.explanation !== undefined && outcome.result === 'fail') {
              const expected = test.explanation === 'DEFAULT' ? undefined : test.explanation;
              if (disputed?.explanationIgnoringCase) {
                expect(outcome.explanation?.toLowerCase()).toBe(expected?.toLowerCase());
              } else {
                expect(outcome.explanation).toBe(expected);
              }
            }
          });
        }
      });
    }
  });
}

describe('openspf suite disputed list', () => {
  it('should name only cases that exist', () => {
    expect([...used].sort()).toEqual(Object.keys(DISPUTED).sort());
  });
});
