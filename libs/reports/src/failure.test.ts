import { readFileSync } from 'node:fs';
import { corpusPath } from '@mailwarden/testing/corpus';
import { describe, expect, it } from 'vitest';
import { parseFailureReport, parseReports, redactAddresses } from './index.ts';

const forensic = (name: string) => readFileSync(corpusPath('forensic', name));

describe('failure report parsing and redaction', () => {
  it('should read the ARF fields of an OpenDMARC report (stalwart 004)', () => {
    const report = parseFailureReport(forensic('stalwart-mail-auth/004.eml'));
    const expected = JSON.parse(forensic('stalwart-mail-auth/004.json').toString('utf8'));
    expect(report.feedbackType).toBe('auth-failure');
    expect(report.authFailure).toBe(expected.auth_failure.toLowerCase());
    expect(report.sourceIp).toBe(expected.source_ip);
    expect(report.reportedDomains).toEqual(expected.reported_domain);
    expect(report.userAgent).toBe(expected.user_agent);
    expect(report.originalMailFrom).toBe('*@interpublication.org');
    expect(report.authenticationResults).toEqual(expected.authentication_results);
  });

  it('should keep no local part, display name, subject or body of the reported message', () => {
    for (const name of [
      'stalwart-mail-auth/004.eml',
      'parsedmarc/dmarc_ruf_report_linkedin.eml',
      'parsedmarc/dmarc_ruf_report_linkedin.crlf.eml',
      'parsedmarc/[Netease DMARC Failure Report] Rent Reminder.eml',
    ]) {
      const text = JSON.stringify(parseFailureReport(forensic(name)));
      expect(text, name).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\./);
      expect(text, name).not.toMatch(/"subject"/);
    }
    const auto = JSON.stringify(parseFailureReport(forensic('stalwart-mail-auth/004.eml')));
    expect(auto).not.toMatch(/Rolf Bader|address@|Wir kaufen/);
    expect(auto).toMatch(/<\*@interpublication\.org>/);
    expect(auto).not.toMatch(/PrsTNnuH8D0Ch3gc/); // the DKIM b= value is dropped
    const withSubject = parseFailureReport(forensic('stalwart-mail-auth/004.eml'), { keepSubject: true });
    expect(withSubject.originalHeaders.find((h) => h.name === 'subject')?.value).toBe(
      'Wir kaufen dein Auto!',
    );
  });

  it('should come out of readReports as a failure event, and refuse ARF-less mail', async () => {
    const [report] = await parseReports(forensic('parsedmarc/dmarc_ruf_report_linkedin.eml'));
    expect(report?.type).toBe('failure');
    await expect(
      parseReports(forensic('parsedmarc/exim_plain_text_only_no_arf_part.eml')),
    ).rejects.toMatchObject({
      code: 'report.not_a_report',
    });
  });

  it('should redact addresses in free text', () => {
    expect(redactAddresses('"Jane Roe" <jane.roe+x@Example.COM>, bob@example.org')).toBe(
      '<*@example.com>, *@example.org',
    );
  });
});
