/**
 * TEST HELPER: real signed messages for the message check. Keys are generated per run, messages
 * are DKIM-signed and ARC-sealed by mailauth itself, and the DNS records that publish the keys
 * and policies come out in the flat zone shape (`name -> records`) that both the in-memory zone
 * resolver and the loopback DNS server take.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign, sealMessage } from 'mailauth';

export interface TestSigner {
  domain: string;
  selector: string;
  privateKeyPem: string;
  /** The DKIM key record (RFC 6376 §3.6.1) for `<selector>._domainkey.<domain>`. */
  keyRecord: string;
}

export function createSigner(domain: string, selector = 'sel1'): TestSigner {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    domain,
    selector,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    keyRecord: `v=DKIM1; k=rsa; p=${der}`,
  };
}

export interface MessageParts {
  from: string;
  to?: string;
  subject?: string;
  returnPath?: string;
  text?: string;
  html?: string;
  extraHeaders?: string[];
}

/** A multipart/alternative message: quoted-printable text and base64 HTML, CRLF line ends. */
export function buildMessage(parts: MessageParts): Buffer {
  const boundary = 'b1_mailwarden_test';
  const qp = (text: string) =>
    text
      .replace(/=/g, '=3D')
      .split('\n')
      .map((line) => (line.length > 70 ? (line.match(/.{1,70}/g)?.join('=\r\n') ?? line) : line))
      .join('\r\n');
  const b64 = (text: string) =>
    (
      Buffer.from(text, 'utf8')
        .toString('base64')
        .match(/.{1,76}/g) ?? []
    ).join('\r\n');
  const head = [
    ...(parts.returnPath ? [`Return-Path: <${parts.returnPath}>`] : []),
    `From: Sender <${parts.from}>`,
    `To: <${parts.to ?? 'user@receiver.test'}>`,
    `Subject: ${parts.subject ?? 'Test message'}`,
    'Date: Fri, 01 May 2026 10:00:00 +0000',
    `Message-ID: <test-${Math.random().toString(36).slice(2)}@${parts.from.split('@')[1]}>`,
    'MIME-Version: 1.0',
    ...(parts.extraHeaders ?? []),
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
  ];
  const body = [
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    qp(parts.text ?? 'Hello.'),
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64(parts.html ?? '<p>Hello.</p>'),
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body.join('\r\n')}`, 'utf8');
}

/** Prepends a DKIM-Signature made with the signer's key (relaxed/relaxed, rsa-sha256). */
export async function signMessage(
  message: Buffer,
  signer: TestSigner,
  signTime = new Date(),
): Promise<Buffer> {
  const { signatures, errors } = await dkimSign(message, {
    canonicalization: 'relaxed/relaxed',
    algorithm: 'rsa-sha256',
    signTime,
    signatureData: [
      { signingDomain: signer.domain, selector: signer.selector, privateKey: signer.privateKeyPem },
    ],
  } as Parameters<typeof dkimSign>[1]);
  if (errors.length > 0) throw errors[0];
  return Buffer.concat([Buffer.from(signatures), message]);
}

/** Prepends an ARC set (RFC 8617 §4) as a forwarder that saw `authResults` would. */
export async function arcSeal(message: Buffer, sealer: TestSigner, authResults: string): Promise<Buffer> {
  const headers = await sealMessage(message, {
    signingDomain: sealer.domain,
    selector: sealer.selector,
    privateKey: sealer.privateKeyPem,
    authResults,
    cv: 'none',
  } as Parameters<typeof sealMessage>[1] & { authResults: string; cv: string });
  return Buffer.concat([headers, message]);
}
