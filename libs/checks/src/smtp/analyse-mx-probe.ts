/**
 * `analyseMxProbe(probe, context)`: findings from what the SMTP/TLS probe of one MX host saw.
 *
 * Pure: the probe result comes in as data, DNS (for the banner/PTR comparison) through the
 * injected `Resolver`, the DANE matcher and the parsed MTA-STS policy as arguments, time from the
 * injected clock.
 *
 * Status: `untestable` when any address could not be tested (timeout, 421, tarpit, reset, garbage):
 * the findings listed are real, but what was not seen is not a regression until a second run
 * confirms it. Subjects are `host [address]` (and `host [address]:port` for other services), so
 * one MX with an IPv4 and an IPv6 address that differ shows both.
 */
import type { Finding } from '../findings.ts';
import { analyseAddress, analyseService } from './mx-probe-address.ts';
import { canonical } from './mx-probe-hygiene.ts';
import { mtaStsCoverage } from './mx-probe-policy.ts';
import type {
  MxProbeAddressFacts,
  MxProbeCheckResult,
  MxProbeContext,
  MxProbeFacts,
} from './mx-probe-types.ts';
import type { MxProbeInput } from './probe-input.ts';
import { smtpFindings as S } from './smtp-findings.ts';

export { softwareInBanner } from './mx-probe-hygiene.ts';
export type {
  DaneInput,
  DaneMatchOutcome,
  MxProbeAddressFacts,
  MxProbeCheckResult,
  MxProbeContext,
  MxProbeFacts,
  MxProbeServiceFacts,
  MxProbeStatus,
} from './mx-probe-types.ts';

export async function analyseMxProbe(probe: MxProbeInput, ctx: MxProbeContext): Promise<MxProbeCheckResult> {
  const host = canonical(probe.host);
  const findings: Finding[] = [];
  mtaStsCoverage(host, ctx.mtaSts, findings);
  const addresses: MxProbeAddressFacts[] = [];
  for (const address of probe.addresses) addresses.push(await analyseAddress(host, address, ctx, findings));
  const services = probe.services.map((s) => analyseService(host, s, ctx, findings));
  const facts: MxProbeFacts = {
    host,
    port: probe.port,
    ...(probe.startedAt ? { probedAt: probe.startedAt } : {}),
    addresses,
    services,
  };
  const untestable = probe.addresses.some((a) => a.outcome === 'untestable');
  const real = findings.filter((f) => f.code !== S.probe_untestable.code);
  return {
    check: 'smtp',
    status: untestable ? 'untestable' : real.length > 0 ? 'findings' : 'ok',
    facts,
    findings,
  };
}
