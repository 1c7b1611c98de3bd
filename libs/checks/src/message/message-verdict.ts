/**
 * The verdict: each failing or inconclusive part of the check votes with its finding, and the
 * worst vote wins (MESSAGE_VERDICTS order); a DMARC pass with no objection is `pass`.
 */
import type { BlocklistFacts } from '../blocklist/blocklist.ts';
import type { CheckResult, Finding } from '../findings.ts';
import { messageFindings as F } from './message-findings.ts';
import { MESSAGE_VERDICTS, type MessageCheckReport, type MessageVerdict } from './message-types.ts';

const TEMPORARY = new Set(['temperror', 'temperr']);
const NOT_VERIFIED = new Set(['fail', 'neutral', 'permerror', 'policy']);

export interface Judged {
  findings: Finding[];
  verdict: MessageVerdict;
  reasons: string[];
}

export function judge(
  report: Pick<MessageCheckReport, 'authentication' | 'content'>,
  fromDomain: string,
  blocklists: CheckResult<BlocklistFacts> | null,
): Judged {
  const findings: Finding[] = [];
  const votes: { verdict: MessageVerdict; code: string }[] = [];
  const vote = (verdict: MessageVerdict, finding: Finding) => {
    findings.push(finding);
    votes.push({ verdict, code: finding.code });
  };
  const { spf, dkim, arc, dmarc, timedOut } = report.authentication;

  const { error } = report.authentication;
  const incomplete = timedOut || error !== null;
  if (incomplete)
    vote(
      'unknown',
      F.auth_unknown.make(
        fromDomain,
        timedOut
          ? 'The authentication checks did not finish in time.'
          : `The authentication checks could not read the message: ${error}.`,
        { timedOut, error },
      ),
    );
  if (dmarc?.result === 'fail')
    vote(
      'fail',
      F.dmarc_fail.make(fromDomain, `DMARC fails for ${dmarc.domain} (policy ${dmarc.policy ?? 'none'}).`, {
        ...dmarc,
      }),
    );
  if (spf.result === 'fail' || spf.result === 'softfail')
    vote(
      'suspicious',
      F.spf_fail.make(
        spf.domain ?? fromDomain,
        `SPF ${spf.result} for ${spf.mailFrom ?? spf.helo} from ${spf.clientIp}.`,
        {
          ...spf,
        },
      ),
    );
  // mailauth says `neutral` for a body hash mismatch, an expired signature or a missing key
  // (RFC 8601 §2.7.1 leaves it to the verifier): a signature that does not verify, all the same.
  for (const signature of dkim.filter((d) => NOT_VERIFIED.has(d.result)))
    vote(
      'suspicious',
      F.dkim_fail.make(
        signature.domain,
        `The DKIM signature of ${signature.domain} (selector ${signature.selector ?? '?'}) does not verify: ${signature.comment ?? signature.result}.`,
        { ...signature },
      ),
    );
  if (arc.result === 'fail')
    vote(
      'suspicious',
      F.arc_fail.make(fromDomain, `The ARC chain (i=${arc.instance}) fails: ${arc.comment ?? 'fail'}.`, {
        ...arc,
      }),
    );
  const anyPass = spf.result === 'pass' || dkim.some((d) => d.result === 'pass');
  const temporary = [spf.result, dmarc?.result ?? '', ...dkim.map((d) => d.result)].some((r) =>
    TEMPORARY.has(r),
  );
  if (temporary && !incomplete)
    vote(
      'unknown',
      F.auth_unknown.make(fromDomain, 'An authentication check ended in a temporary DNS error.', {
        spf: spf.result,
        dkim: dkim.map((d) => d.result),
        dmarc: dmarc?.result ?? null,
      }),
    );
  else if (!anyPass && !incomplete && dmarc?.result !== 'fail')
    vote(
      'suspicious',
      F.unauthenticated.make(fromDomain, 'Neither SPF nor any DKIM signature passes for this message.', {
        spf: spf.result,
        dkim: dkim.map((d) => d.result),
      }),
    );
  for (const finding of blocklists?.findings ?? []) {
    if (finding.code === 'blocklist.domain_listed' || finding.code === 'blocklist.ip_listed')
      vote('fail', finding);
    else if (finding.code === 'blocklist.lookup_unknown') vote('unknown', finding);
  }
  if (report.content.truncated.length > 0)
    findings.push(
      F.not_fully_examined.make(fromDomain, `Not examined: ${report.content.truncated.join(', ')}.`, {
        truncated: report.content.truncated,
      }),
    );

  let verdict: MessageVerdict = dmarc?.result === 'pass' ? 'pass' : 'neutral';
  for (const v of votes)
    if (MESSAGE_VERDICTS.indexOf(v.verdict) > MESSAGE_VERDICTS.indexOf(verdict)) verdict = v.verdict;
  const reasons = [...new Set(votes.filter((v) => v.verdict === verdict).map((v) => v.code))];
  return { findings, verdict, reasons };
}
