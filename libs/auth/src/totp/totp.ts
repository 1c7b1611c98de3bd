import { randomBytes } from 'node:crypto';
import { generateURI, generate as otpGenerate, verify as otpVerify } from 'otplib';
import QRCode from 'qrcode';

/**
 * RFC 6238 TOTP with the parameters every authenticator app supports: HMAC-SHA1, 6 digits, 30 s
 * steps, and a 20-byte (160-bit) seed, the HMAC-SHA1 key length RFC 4226 §4 recommends. A code is
 * accepted one step either side of now (RFC 6238 §5.2 allows for clock drift and typing time).
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_SECRET_BYTES = 20;
const ISSUER = 'Mailwarden';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: what authenticator apps and `oathtool -b` take. */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export function newTotpSecret(): string {
  return base32Encode(randomBytes(TOTP_SECRET_BYTES));
}

export function totpUri(secret: string, accountName: string): string {
  return generateURI({ issuer: ISSUER, label: accountName, secret, period: TOTP_PERIOD_SECONDS, digits: 6 });
}

/** The provisioning URI as a scannable QR code, an SVG `data:` URL an <img> can show directly. */
export async function totpQrDataUrl(uri: string): Promise<string> {
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

export type TotpCheck = { valid: false } | { valid: true; timeStep: number };

/** Checks a code at `now`; the caller enforces "each step once" with the returned time step. */
export async function checkTotp(secret: string, code: string, now: Date): Promise<TotpCheck> {
  if (!/^\d{6}$/.test(code)) return { valid: false };
  const result = await otpVerify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    period: TOTP_PERIOD_SECONDS,
    epochTolerance: TOTP_PERIOD_SECONDS,
  });
  return result.valid && 'timeStep' in result ? { valid: true, timeStep: result.timeStep } : { valid: false };
}

/** For tests and tools: the code at an instant. */
export function totpAt(secret: string, at: Date): Promise<string> {
  return otpGenerate({ secret, epoch: Math.floor(at.getTime() / 1000), period: TOTP_PERIOD_SECONDS });
}
