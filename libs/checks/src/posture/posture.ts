/**
 * The posture score: one number (0-100) and a grade (A+ to F) summarising a scan, so a dashboard
 * can sort domains and an alert can say "dropped from A to C". docs/posture-score.md explains the
 * formula with worked examples; the constants below are the formula.
 *
 * Principles:
 * - Findings cost points by severity. Each finding code counts once per check, however many
 *   subjects it names (five MX hosts without FCrDNS are one problem to fix, not five).
 * - Each check scores 0-100 on its own and can lose at most its own weight: one badly broken check
 *   cannot drag the whole score to zero, and every check's contribution stays explainable.
 * - Checks whose result is `unknown` (DNS or a fetch could not answer) are left out and listed:
 *   not knowing is never a penalty nor a pass (DESIGN.md §3). The score then covers fewer checks
 *   and is marked `partial`.
 * - Severe findings cap the score, so a grade never hides them: a critical finding means F.
 *
 * Pure and monotonic: for fixed check statuses, adding a finding never raises the score.
 */
import { type CheckName, type CheckResult, type Severity, severityRank } from '../findings.ts';

/** Share of the score each check carries; they add up to 100. */
export const POSTURE_WEIGHTS = {
  mx: 15,
  spf: 20,
  dkim: 15,
  dmarc: 25,
  mta_sts: 15,
  tls_rpt: 5,
  bimi: 5,
} as const satisfies Partial<Record<CheckName, number>>;

export type ScoredCheck = keyof typeof POSTURE_WEIGHTS;
export const SCORED_CHECKS = Object.keys(POSTURE_WEIGHTS) as ScoredCheck[];

/** Points a check loses per distinct finding code of each severity (out of its 100). */
export const SEVERITY_POINTS: Readonly<Record<Severity, number>> = {
  info: 0,
  low: 10,
  medium: 30,
  high: 70,
  critical: 100,
};

/**
 * The highest score a domain can have while its scored checks show at least `minCodes` distinct
 * finding codes of `severity`. The first rule that applies decides (they are ordered strictest
 * first), so a grade never hides a serious problem: any critical finding is an F, one high finding
 * at most a C, several at most a D, and a medium one keeps a domain out of A+.
 */
export const SCORE_CAPS: readonly { severity: Severity; minCodes: number; maxScore: number }[] = [
  { severity: 'critical', minCodes: 1, maxScore: 39 },
  { severity: 'high', minCodes: 2, maxScore: 54 },
  { severity: 'high', minCodes: 1, maxScore: 69 },
  { severity: 'medium', minCodes: 1, maxScore: 94 },
];

export type Grade = 'A+' | 'A' | 'B' | 'C' | 'D' | 'F';

/** Lowest score of each grade, best first. */
export const GRADE_BANDS: readonly { grade: Grade; minScore: number }[] = [
  { grade: 'A+', minScore: 95 },
  { grade: 'A', minScore: 85 },
  { grade: 'B', minScore: 70 },
  { grade: 'C', minScore: 55 },
  { grade: 'D', minScore: 40 },
  { grade: 'F', minScore: 0 },
];

export interface PostureDeduction {
  code: string;
  severity: Severity;
  points: number;
  /** How many findings carry this code (they cost the points once). */
  count: number;
}

export interface CheckPosture {
  check: ScoredCheck;
  /** `scored`; `unknown` (left out, DNS or a fetch did not answer); `not_run` (not asked for). */
  status: 'scored' | 'unknown' | 'not_run';
  weight: number;
  /** 0-100 for this check alone; null unless scored. */
  score: number | null;
  deductions: PostureDeduction[];
}

export interface Posture {
  /** 0-100, or null when no check could be scored. */
  score: number | null;
  grade: Grade | null;
  /** Some checks were unknown: the score covers only the checks that answered. */
  partial: boolean;
  unknownChecks: ScoredCheck[];
  notRun: ScoredCheck[];
  /** The severity cap that lowered the score, with the codes that triggered it. */
  cappedBy: { severity: Severity; maxScore: number; codes: string[] } | null;
  checks: CheckPosture[];
}

export function gradeFor(score: number): Grade {
  return (GRADE_BANDS.find((band) => score >= band.minScore) ?? { grade: 'F' as const }).grade;
}

function scoreCheck(result: CheckResult<unknown>): { score: number; deductions: PostureDeduction[] } {
  const byCode = new Map<string, PostureDeduction>();
  for (const finding of result.findings) {
    const seen = byCode.get(finding.code);
    if (seen) {
      seen.count++;
      // A code has one severity in the catalogue; should two ever differ, the worse one counts.
      if (severityRank(finding.severity) > severityRank(seen.severity)) {
        seen.severity = finding.severity;
        seen.points = SEVERITY_POINTS[finding.severity];
      }
      continue;
    }
    byCode.set(finding.code, {
      code: finding.code,
      severity: finding.severity,
      points: SEVERITY_POINTS[finding.severity],
      count: 1,
    });
  }
  const deductions = [...byCode.values()]
    .filter((d) => d.points > 0)
    .sort((a, b) => b.points - a.points || a.code.localeCompare(b.code));
  const lost = deductions.reduce((sum, d) => sum + d.points, 0);
  return { score: Math.max(0, 100 - lost), deductions };
}

/**
 * Scores the results of one scan. A check without a result counts as not run; a result for a
 * check outside POSTURE_WEIGHTS is ignored.
 */
export function computePosture(results: readonly CheckResult<unknown>[]): Posture {
  const byCheck = new Map(results.map((r) => [r.check, r]));
  const checks: CheckPosture[] = SCORED_CHECKS.map((check) => {
    const weight = POSTURE_WEIGHTS[check];
    const result = byCheck.get(check);
    if (!result) return { check, status: 'not_run', weight, score: null, deductions: [] };
    if (result.status === 'unknown') return { check, status: 'unknown', weight, score: null, deductions: [] };
    return { check, status: 'scored', weight, ...scoreCheck(result) };
  });
  const scored = checks.filter((c) => c.status === 'scored');
  const unknownChecks = checks.filter((c) => c.status === 'unknown').map((c) => c.check);
  const notRun = checks.filter((c) => c.status === 'not_run').map((c) => c.check);
  const totalWeight = scored.reduce((sum, c) => sum + c.weight, 0);
  if (totalWeight === 0) {
    return {
      score: null,
      grade: null,
      partial: unknownChecks.length > 0,
      unknownChecks,
      notRun,
      cappedBy: null,
      checks,
    };
  }
  const weighted = scored.reduce((sum, c) => sum + c.weight * (c.score ?? 0), 0) / totalWeight;
  let score = Math.round(weighted);
  let cappedBy: Posture['cappedBy'] = null;
  for (const cap of SCORE_CAPS) {
    const codes = [
      ...new Set(
        scored.flatMap((c) => c.deductions.filter((d) => d.severity === cap.severity).map((d) => d.code)),
      ),
    ];
    if (codes.length < cap.minCodes) continue;
    // The first applicable rule is the strictest; the later ones then already hold.
    if (score > cap.maxScore) {
      score = cap.maxScore;
      cappedBy = { severity: cap.severity, maxScore: cap.maxScore, codes };
    }
    break;
  }
  return {
    score,
    grade: gradeFor(score),
    partial: unknownChecks.length > 0,
    unknownChecks,
    notRun,
    cappedBy,
    checks,
  };
}
