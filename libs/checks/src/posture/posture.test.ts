import { describe, expect, it } from 'vitest';
import { type CheckName, type CheckResult, type Finding, type Severity, severities } from '../findings.ts';
import {
  computePosture,
  GRADE_BANDS,
  gradeFor,
  POSTURE_WEIGHTS,
  SCORED_CHECKS,
  type ScoredCheck,
} from './posture.ts';

function finding(code: string, severity: Severity, subject = 'example.com'): Finding {
  return { code, severity, subject, message: `${code} on ${subject}`, evidence: {} };
}

function result(check: CheckName, findings: Finding[] = [], unknown = false): CheckResult<unknown> {
  return {
    check,
    status: unknown ? 'unknown' : findings.length > 0 ? 'findings' : 'ok',
    facts: {},
    findings,
  };
}

const allOk = () => SCORED_CHECKS.map((c) => result(c));

/** Small deterministic PRNG (mulberry32) so the property test is reproducible. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe(computePosture.name, () => {
  it('should weigh the checks so that they add up to 100', () => {
    expect(Object.values(POSTURE_WEIGHTS).reduce((a, b) => a + b, 0)).toBe(100);
  });

  it('should give a clean scan 100 and A+', () => {
    const p = computePosture(allOk());
    expect(p).toMatchObject({
      score: 100,
      grade: 'A+',
      partial: false,
      unknownChecks: [],
      notRun: [],
      cappedBy: null,
    });
  });

  it('should take points from the check by severity, weighted by the check', () => {
    // DMARC (weight 25) loses 30 of its 100 for one medium finding: 100 - 25 * 0.30 = 92.5 -> 93.
    const p = computePosture([
      ...allOk().filter((r) => r.check !== 'dmarc'),
      result('dmarc', [finding('dmarc.policy_none', 'medium'), finding('dmarc.no_rua', 'low')]),
    ]);
    expect(p.checks.find((c) => c.check === 'dmarc')).toMatchObject({ status: 'scored', score: 60 });
    // 100 - 25 * 0.40 = 90: an A, below the medium cap of 94.
    expect(p.score).toBe(90);
    expect(p.grade).toBe('A');
    expect(p.cappedBy).toBeNull();
  });

  it('should keep a domain with a medium finding out of A+ by the cap', () => {
    const p = computePosture([
      ...allOk().filter((r) => r.check !== 'bimi'),
      result('bimi', [finding('bimi.x', 'medium')]),
    ]);
    // 100 - 5 * 0.30 = 98.5 -> 99, capped to 94.
    expect(p).toMatchObject({
      score: 94,
      grade: 'A',
      cappedBy: { severity: 'medium', maxScore: 94, codes: ['bimi.x'] },
    });
  });

  it('should count a finding code once per check, however many subjects it names', () => {
    const many = ['a', 'b', 'c', 'd'].map((h) => finding('mx.no_fcrdns', 'low', `192.0.2.${h}`));
    const p = computePosture([...allOk().filter((r) => r.check !== 'mx'), result('mx', many)]);
    expect(p.checks.find((c) => c.check === 'mx')).toMatchObject({
      score: 90,
      deductions: [{ code: 'mx.no_fcrdns', severity: 'low', points: 10, count: 4 }],
    });
  });

  it('should let one check lose at most its own weight', () => {
    const awful = ['a', 'b', 'c', 'd', 'e'].map((x) => finding(`spf.problem_${x}`, 'medium'));
    const p = computePosture([...allOk().filter((r) => r.check !== 'spf'), result('spf', awful)]);
    expect(p.checks.find((c) => c.check === 'spf')?.score).toBe(0);
    // 80 of 100 remain from the other checks.
    expect(p.score).toBe(80);
    expect(p.grade).toBe('B');
  });

  it('should leave unknown checks out of the score and list them, never as a penalty', () => {
    const withUnknown = [
      ...allOk().filter((r) => r.check !== 'spf'),
      // Proven findings of an unknown result are listed by the check but not scored.
      result('spf', [finding('spf.lookup_unknown', 'info'), finding('spf.no_all', 'medium')], true),
    ];
    const p = computePosture(withUnknown);
    expect(p).toMatchObject({ score: 100, grade: 'A+', partial: true, unknownChecks: ['spf'] });
    expect(p.checks.find((c) => c.check === 'spf')).toMatchObject({ status: 'unknown', score: null });
  });

  it('should have no score at all when nothing could be scored', () => {
    const p = computePosture(SCORED_CHECKS.map((c) => result(c, [], true)));
    expect(p).toMatchObject({ score: null, grade: null, partial: true });
    expect(p.unknownChecks).toEqual(SCORED_CHECKS);
    expect(computePosture([])).toMatchObject({
      score: null,
      grade: null,
      partial: false,
      notRun: SCORED_CHECKS,
    });
  });

  it('should score only the checks that ran', () => {
    const p = computePosture([result('spf', [finding('spf.softfail_all', 'low')])]);
    expect(p.score).toBe(90);
    expect(p.notRun).toEqual(SCORED_CHECKS.filter((c) => c !== 'spf'));
  });

  it('should cap the grade at F for any critical finding, whatever the rest', () => {
    const p = computePosture([
      ...allOk().filter((r) => r.check !== 'spf'),
      result('spf', [finding('spf.pass_all', 'critical')]),
    ]);
    expect(p.score).toBe(39);
    expect(p.grade).toBe('F');
    expect(p.cappedBy).toMatchObject({ severity: 'critical', codes: ['spf.pass_all'] });
  });

  it('should keep a domain with one high finding at C or below, with several at D or below', () => {
    const p = computePosture([
      ...allOk().filter((r) => r.check !== 'tls_rpt'),
      result('tls_rpt', [finding('x.high', 'high')]),
    ]);
    expect(p.score).toBe(69);
    expect(p.grade).toBe('C');
    const two = computePosture([
      ...allOk().filter((r) => r.check !== 'tls_rpt' && r.check !== 'mx'),
      result('tls_rpt', [finding('x.high', 'high')]),
      result('mx', [finding('x.other_high', 'high')]),
    ]);
    expect(two).toMatchObject({
      score: 54,
      grade: 'D',
      cappedBy: { severity: 'high', codes: ['x.other_high', 'x.high'] },
    });
  });

  it('should ignore info findings', () => {
    const p = computePosture([
      ...allOk().filter((r) => r.check !== 'bimi'),
      result('bimi', [finding('bimi.no_vmc', 'info')]),
    ]);
    expect(p.score).toBe(100);
  });

  it('should map scores to grades at the band edges', () => {
    for (const band of GRADE_BANDS) {
      expect(gradeFor(band.minScore)).toBe(band.grade);
      if (band.minScore > 0) expect(gradeFor(band.minScore - 1)).not.toBe(band.grade);
    }
    expect(gradeFor(100)).toBe('A+');
  });

  it('should never raise the score when a finding is added (2 000 random scans)', () => {
    const random = prng(20260101);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const codes = Array.from({ length: 12 }, (_, i) => `x.code_${i}`);
    for (let round = 0; round < 2000; round++) {
      const results = SCORED_CHECKS.filter(() => random() < 0.85).map((check) => {
        const findings = Array.from({ length: Math.floor(random() * 4) }, () =>
          finding(pick(codes), pick(severities)),
        );
        return result(check, findings, random() < 0.1);
      });
      const before = computePosture(results);
      const known = results.filter((r) => r.status !== 'unknown');
      if (known.length === 0) continue;
      const target = pick(known);
      const added = finding(pick(codes), pick(severities), `added-${round}`);
      const after = computePosture(
        results.map((r) =>
          r === target ? { ...r, status: 'findings' as const, findings: [...r.findings, added] } : r,
        ),
      );
      expect(after.score ?? 0, JSON.stringify({ round, check: target.check, added })).toBeLessThanOrEqual(
        before.score ?? 0,
      );
    }
  });

  it('should cap the grade by the worst severity present, in whichever check it is', () => {
    // One finding costs at most 25 * 0.7 = 17.5 points overall (weight x share), so a high or
    // critical finding is decided by its cap; a medium one leaves an A either way.
    const expected = { medium: 'A', high: 'C', critical: 'F' } as const;
    for (const check of SCORED_CHECKS as ScoredCheck[]) {
      for (const severity of ['medium', 'high', 'critical'] as const) {
        const p = computePosture([
          ...allOk().filter((r) => r.check !== check),
          result(check, [finding('x.y', severity)]),
        ]);
        expect(p.grade, `${check} ${severity}`).toBe(expected[severity]);
        if (severity !== 'medium') expect(p.cappedBy?.severity).toBe(severity);
      }
    }
  });
});

describe('docs/posture-score.md worked examples', () => {
  const f = finding;
  const withChecks = (over: Partial<Record<ScoredCheck, CheckResult<unknown>>>) =>
    SCORED_CHECKS.map((c) => over[c] ?? result(c));
  const cases: [string, CheckResult<unknown>[], number | null, string | null][] = [
    ['a well-run domain', withChecks({ bimi: result('bimi', [f('bimi.no_vmc', 'info')]) }), 100, 'A+'],
    [
      'a typical good domain',
      withChecks({
        spf: result('spf', [f('spf.softfail_all', 'low')]),
        mta_sts: result('mta_sts', [f('mta_sts.missing', 'low')]),
        tls_rpt: result('tls_rpt', [f('tls_rpt.missing', 'low')]),
        bimi: result('bimi', [f('bimi.missing', 'info')]),
      }),
      96,
      'A+',
    ],
    [
      'DMARC in monitoring mode',
      withChecks({ dmarc: result('dmarc', [f('dmarc.policy_none', 'medium'), f('dmarc.no_rua', 'low')]) }),
      90,
      'A',
    ],
    ['no DMARC record', withChecks({ dmarc: result('dmarc', [f('dmarc.missing', 'high')]) }), 69, 'C'],
    [
      'nothing published',
      withChecks({
        mx: result('mx', [f('mx.missing', 'medium')]),
        spf: result('spf', [f('spf.missing', 'high')]),
        dkim: result('dkim', [f('dkim.no_selector_found', 'medium')]),
        dmarc: result('dmarc', [f('dmarc.missing', 'high')]),
        mta_sts: result('mta_sts', [f('mta_sts.missing', 'low')]),
        tls_rpt: result('tls_rpt', [f('tls_rpt.missing', 'low')]),
        bimi: result('bimi', [f('bimi.missing', 'info')]),
      }),
      54,
      'D',
    ],
    ['+all', withChecks({ spf: result('spf', [f('spf.pass_all', 'critical')]) }), 39, 'F'],
    [
      'a timeout',
      withChecks({
        spf: result('spf', [f('spf.lookup_unknown', 'info')], true),
        mta_sts: result('mta_sts', [f('mta_sts.missing', 'low')]),
        tls_rpt: result('tls_rpt', [f('tls_rpt.missing', 'low')]),
      }),
      98,
      'A+',
    ],
  ];
  it.each(cases)('%s', (_name, results, score, grade) => {
    expect(computePosture(results)).toMatchObject({ score, grade });
  });
});
