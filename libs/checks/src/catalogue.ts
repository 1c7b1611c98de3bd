/**
 * Every finding the checks can emit, gathered from each check's own definitions. `docs/findings.md`
 * is generated from this list (`npm run docs:findings`), and the monitoring service uses it to
 * look up severity and remediation by code.
 */
import { bimiFindings } from './bimi/index.ts';
import { blocklistFindings } from './blocklist/index.ts';
import { daneFindings } from './dane/index.ts';
import { dkimFindings } from './dkim/index.ts';
import { dmarcFindings } from './dmarc/index.ts';
import { dnssecFindings } from './dnssec/index.ts';
import type { FindingDefinition } from './findings.ts';
import { messageFindings } from './message/index.ts';
import { mtaStsFindings } from './mta-sts/index.ts';
import { mxFindings } from './mx/index.ts';
import { smtpFindings } from './smtp/index.ts';
import { spfFindings } from './spf/index.ts';
import { tlsFindings } from './tls/index.ts';
import { tlsRptFindings } from './tls-rpt/index.ts';

function definitions(group: Record<string, FindingDefinition>): FindingDefinition[] {
  return Object.values(group).map(({ code, check, severity, title, remediation, reference }) => ({
    code,
    check,
    severity,
    title,
    remediation,
    ...(reference ? { reference } : {}),
  }));
}

export const findingCatalogue: readonly FindingDefinition[] = [
  ...definitions(mxFindings),
  ...definitions(spfFindings),
  ...definitions(dkimFindings),
  ...definitions(dmarcFindings),
  ...definitions(mtaStsFindings),
  ...definitions(tlsRptFindings),
  ...definitions(bimiFindings),
  ...definitions(dnssecFindings),
  ...definitions(daneFindings),
  ...definitions(tlsFindings),
  ...definitions(smtpFindings),
  ...definitions(blocklistFindings),
  ...definitions(messageFindings),
];

const byCode = new Map(findingCatalogue.map((d) => [d.code, d]));

export function findingDefinition(code: string): FindingDefinition | undefined {
  return byCode.get(code);
}
