/**
 * The analysis of one probed address (banner, STARTTLS, DANE, the TLS session, protocols and
 * ciphers, SMTP hygiene) and of one extra service (submission, IMAP, POP3 and the like).
 */
import type { Finding } from '../findings.ts';
import { analyseTlsSession } from '../tls/analyse-tls.ts';
import { tlsFindings as T } from '../tls/tls-findings.ts';
import { bannerHostFindings, bannerHostOf, smtpHygiene } from './mx-probe-hygiene.ts';
import { daneFindings, mtaStsInvalid } from './mx-probe-policy.ts';
import { protocolFindings, starttlsFinding } from './mx-probe-tls.ts';
import type { MxProbeAddressFacts, MxProbeContext, MxProbeServiceFacts } from './mx-probe-types.ts';
import type { ProbedAddress, ProbedService } from './probe-input.ts';
import { smtpFindings as S } from './smtp-findings.ts';

export async function analyseAddress(
  host: string,
  probe: ProbedAddress,
  ctx: MxProbeContext,
  findings: Finding[],
): Promise<MxProbeAddressFacts> {
  const subject = `${host} [${probe.address}]`;
  const facts: MxProbeAddressFacts = { address: probe.address, outcome: probe.outcome };
  if (probe.outcome === 'refused') {
    findings.push(
      S.address_not_public.make(
        subject,
        `${probe.address} is not a public address (${probe.refused?.verdict}); it was not probed.`,
        {
          verdict: probe.refused?.verdict ?? null,
          detail: probe.refused?.detail ?? null,
        },
      ),
    );
    return facts;
  }
  if (probe.outcome === 'untestable') {
    if (probe.untestable) facts.untestable = probe.untestable;
    findings.push(
      S.probe_untestable.make(
        subject,
        `The probe could not test ${probe.address}: ${probe.untestable?.reason ?? 'unknown'} at ${probe.untestable?.stage ?? '?'}.`,
        { ...probe.untestable },
      ),
    );
    if (probe.banner) facts.banner = probe.banner.lines[0] ?? '';
    return facts;
  }

  facts.banner = probe.banner?.lines[0] ?? '';
  const bannerHost = bannerHostOf(facts.banner);
  if (bannerHost) facts.bannerHost = bannerHost;
  facts.esmtp = probe.ehlo?.command === 'EHLO';
  facts.keywords = Object.keys(probe.ehlo?.keywords ?? {});
  facts.starttls = probe.starttls?.outcome ?? 'not_offered';
  starttlsFinding(subject, probe.starttls, findings);

  const daneEeAuthenticated = daneFindings(subject, probe, ctx.dane, facts, findings);

  if (probe.tls) {
    const session = analyseTlsSession(subject, host, probe.tls, {
      now: ctx.now,
      ...(ctx.expiryWarningDays ? { expiryWarningDays: ctx.expiryWarningDays } : {}),
      daneEeAuthenticated,
    });
    facts.tls = session.facts;
    facts.tlsValid = session.valid;
    findings.push(...session.findings);
    if (ctx.mtaSts?.mode === 'enforce' && !session.valid) mtaStsInvalid(subject, session.problems, findings);
  } else if (ctx.mtaSts?.mode === 'enforce') {
    mtaStsInvalid(subject, [`STARTTLS ${facts.starttls}`], findings);
  }
  protocolFindings(subject, probe, facts, findings);
  smtpHygiene(subject, probe, facts, findings);

  if (ctx.resolver && bannerHost)
    await bannerHostFindings(subject, ctx.resolver, probe, bannerHost, facts, findings);
  return facts;
}

export function analyseService(
  host: string,
  service: ProbedService,
  ctx: MxProbeContext,
  findings: Finding[],
): MxProbeServiceFacts {
  const subject = `${host} [${service.address}]:${service.port}`;
  const facts: MxProbeServiceFacts = {
    address: service.address,
    port: service.port,
    service: service.service,
    transport: service.transport,
    outcome: service.outcome,
    ...(service.starttls ? { starttls: service.starttls.outcome } : {}),
  };
  if (service.outcome !== 'tested') return facts;
  if (service.transport === 'starttls' && service.starttls?.outcome === 'not_offered') {
    findings.push(
      T.plaintext_service.make(
        subject,
        `${service.service} on port ${service.port} accepts plaintext connections and offers no STARTTLS.`,
        {
          service: service.service,
          port: service.port,
          greeting: service.greeting ?? null,
        },
      ),
    );
  } else if (service.starttls) {
    starttlsFinding(subject, service.starttls, findings);
  }
  if (service.tls) {
    const session = analyseTlsSession(subject, host, service.tls, {
      now: ctx.now,
      ...(ctx.expiryWarningDays ? { expiryWarningDays: ctx.expiryWarningDays } : {}),
    });
    facts.tls = session.facts;
    findings.push(...session.findings);
  }
  return facts;
}
