/**
 * A report mail as receivers send one: a short text part and the report as an attachment
 * (RFC 7489 §7.2.1.1 for DMARC aggregate reports, RFC 8460 §5.3 for TLS-RPT), built with
 * nodemailer's composer. Every call has its own Message-ID, so two mails with the same attachment
 * are two different inputs.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import nodemailer from 'nodemailer';

export interface ReportMailOptions {
  attachment: Buffer;
  /** The attachment's file name, e.g. `google.com!example.com!1700000000!1700086399.xml.gz`. */
  filename: string;
  from?: string;
  to?: string;
  subject?: string;
  /** Appended to the text part: makes a mail of a given size. */
  padding?: number;
}

const contentTypes: Record<string, string> = {
  gz: 'application/gzip',
  zip: 'application/zip',
  xml: 'text/xml',
  json: 'application/tlsrpt+json',
};

export async function buildReportMail(options: ReportMailOptions): Promise<Buffer> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const ext = options.filename.split('.').pop() ?? '';
  const info = await transport.sendMail({
    from: options.from ?? 'noreply-dmarc-support@google.com',
    to: options.to ?? 'dmarc-reports@example.com',
    subject:
      options.subject ??
      `Report Domain: example.com Submitter: google.com Report-ID: ${randomBytes(6).toString('hex')}`,
    messageId: `<${randomBytes(12).toString('hex')}@reports.test>`,
    text: `This is an aggregate report.\n${options.padding ? 'x'.repeat(options.padding) : ''}`,
    attachments: [
      {
        filename: basename(options.filename),
        content: options.attachment,
        contentType: contentTypes[ext] ?? 'application/octet-stream',
      },
    ],
  });
  return info.message as Buffer;
}
