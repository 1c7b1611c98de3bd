/**
 * The raw text of a DMARC aggregate document as it streams past: the header and record drafts,
 * the auth result or override reason currently open, and `applyField`, which stores a closed
 * field's text in the right draft. Text is kept as read here; aggregate-build.ts normalises it.
 */

import {
  F_ADKIM,
  F_ASPF,
  F_AUTH_DOMAIN,
  F_AUTH_HUMAN,
  F_AUTH_RESULT,
  F_AUTH_SCOPE,
  F_AUTH_SELECTOR,
  F_BEGIN,
  F_COUNT,
  F_DISCOVERY,
  F_DISPOSITION,
  F_DOMAIN,
  F_EMAIL,
  F_END,
  F_ENVELOPE_FROM,
  F_ENVELOPE_TO,
  F_ERROR,
  F_EVAL_DKIM,
  F_EVAL_SPF,
  F_EXTRA,
  F_FO,
  F_GENERATOR,
  F_HEADER_FROM,
  F_NP,
  F_ORG,
  F_P,
  F_PCT,
  F_REASON_COMMENT,
  F_REASON_TYPE,
  F_REPORT_ID,
  F_SOURCE_IP,
  F_SP,
  F_TESTING,
  F_VERSION,
} from './aggregate-schema.ts';
import type { DkimAuthResult, PolicyOverrideReason, SpfAuthResult } from './aggregate-types.ts';
import { clean, domainName, lower } from './normalize.ts';

const MAX_METADATA_ERRORS = 100;

export interface MetaDraft {
  format: 'rfc7489' | 'rfc9990';
  version: string | null;
  orgName: string | null;
  email: string | null;
  extraContactInfo: string | null;
  reportId: string | null;
  begin: string | null;
  end: string | null;
  errors: string[];
  generator: string | null;
  domain: string | null;
  adkim: string | null;
  aspf: string | null;
  p: string | null;
  sp: string | null;
  pct: string | null;
  np: string | null;
  fo: string | null;
  testing: string | null;
  discoveryMethod: string | null;
}

export interface RecordDraft {
  sourceIp: string | null;
  count: string | null;
  disposition: string | null;
  dkim: string | null;
  spf: string | null;
  reasons: PolicyOverrideReason[];
  headerFrom: string | null;
  envelopeFrom: string | null;
  envelopeTo: string | null;
  dkimResults: DkimAuthResult[];
  spfResults: SpfAuthResult[];
}

/** Everything open at once: the header draft, the record (if inside one) and its open parts. */
export interface Drafts {
  meta: MetaDraft;
  record: RecordDraft | null;
  dkim: DkimAuthResult | null;
  spf: SpfAuthResult | null;
  reason: PolicyOverrideReason | null;
}

export function newDrafts(): Drafts {
  return {
    meta: {
      format: 'rfc7489',
      version: null,
      orgName: null,
      email: null,
      extraContactInfo: null,
      reportId: null,
      begin: null,
      end: null,
      errors: [],
      generator: null,
      domain: null,
      adkim: null,
      aspf: null,
      p: null,
      sp: null,
      pct: null,
      np: null,
      fo: null,
      testing: null,
      discoveryMethod: null,
    },
    record: null,
    dkim: null,
    spf: null,
    reason: null,
  };
}

export function newRecord(): RecordDraft {
  return {
    sourceIp: null,
    count: null,
    disposition: null,
    dkim: null,
    spf: null,
    reasons: [],
    headerFrom: null,
    envelopeFrom: null,
    envelopeTo: null,
    dkimResults: [],
    spfResults: [],
  };
}

/** Stores the text of a closed field; fields outside an open record or auth result are dropped. */
export function applyField(drafts: Drafts, field: number, text: string): void {
  const meta = drafts.meta;
  const record = drafts.record;
  switch (field) {
    case F_VERSION:
      meta.version = clean(text);
      return;
    case F_ORG:
      meta.orgName = text;
      return;
    case F_EMAIL:
      meta.email = text;
      return;
    case F_EXTRA:
      meta.extraContactInfo = text;
      return;
    case F_REPORT_ID:
      meta.reportId = text;
      return;
    case F_ERROR: {
      const error = clean(text);
      if (error !== null && meta.errors.length < MAX_METADATA_ERRORS) meta.errors.push(error);
      return;
    }
    case F_GENERATOR:
      meta.generator = text;
      return;
    case F_BEGIN:
      meta.begin = text;
      return;
    case F_END:
      meta.end = text;
      return;
    case F_DOMAIN:
      meta.domain = text;
      return;
    case F_ADKIM:
      meta.adkim = text;
      return;
    case F_ASPF:
      meta.aspf = text;
      return;
    case F_P:
      meta.p = text;
      return;
    case F_SP:
      meta.sp = text;
      return;
    case F_PCT:
      meta.pct = text;
      return;
    case F_NP:
      meta.np = text;
      return;
    case F_FO:
      meta.fo = text;
      return;
    case F_TESTING:
      meta.testing = text;
      return;
    case F_DISCOVERY:
      meta.discoveryMethod = text;
      return;
  }
  if (record === null) return;
  switch (field) {
    case F_SOURCE_IP:
      record.sourceIp = text;
      return;
    case F_COUNT:
      record.count = text;
      return;
    case F_DISPOSITION:
      record.disposition = text;
      return;
    case F_EVAL_DKIM:
      record.dkim = text;
      return;
    case F_EVAL_SPF:
      record.spf = text;
      return;
    case F_REASON_TYPE:
      if (drafts.reason) drafts.reason.type = lower(text);
      return;
    case F_REASON_COMMENT:
      if (drafts.reason) drafts.reason.comment = clean(text);
      return;
    case F_HEADER_FROM:
      record.headerFrom = text;
      return;
    case F_ENVELOPE_FROM:
      record.envelopeFrom = text;
      return;
    case F_ENVELOPE_TO:
      record.envelopeTo = text;
      return;
  }
  const auth = drafts.dkim ?? drafts.spf;
  if (auth === null) return;
  switch (field) {
    case F_AUTH_DOMAIN:
      auth.domain = domainName(text);
      return;
    case F_AUTH_RESULT:
      auth.result = lower(text);
      return;
    case F_AUTH_HUMAN:
      auth.humanResult = clean(text);
      return;
    case F_AUTH_SELECTOR:
      if (drafts.dkim) drafts.dkim.selector = lower(text);
      return;
    case F_AUTH_SCOPE:
      if (drafts.spf) drafts.spf.scope = lower(text);
      return;
  }
}
