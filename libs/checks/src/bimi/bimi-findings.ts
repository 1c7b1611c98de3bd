/** The BIMI findings catalogue (DESIGN.md §3). Codes are stable: add, never rename. */
import { defineFindings } from '../findings.ts';

const DRAFT = 'draft-brand-indicators-for-message-identification';

export const bimiFindings = defineFindings('bimi', {
  missing: {
    severity: 'info',
    title: 'No BIMI record',
    remediation:
      'Optional: to show your logo in supporting mailboxes, publish "v=BIMI1; l=https://<host>/logo.svg; a=https://<host>/vmc.pem" at default._bimi.<domain>.',
    reference: DRAFT,
  },
  multiple_records: {
    severity: 'medium',
    title: 'Several BIMI records at one name',
    remediation: 'Receivers ignore a selector with more than one v=BIMI1 record; keep one.',
    reference: DRAFT,
  },
  syntax_error: {
    severity: 'medium',
    title: 'BIMI record syntax error',
    remediation:
      'Write the record as "v=BIMI1; l=<https URL of the SVG>; a=<https URL of the PEM certificate>".',
    reference: DRAFT,
  },
  dmarc_not_enforced: {
    severity: 'medium',
    title: 'DMARC is not at enforcement, so the BIMI logo is not shown',
    remediation:
      'BIMI needs p=quarantine (applied to all mail) or p=reject, and no sp=none. Strengthen the DMARC policy first.',
    reference: DRAFT,
  },
  logo_not_https: {
    severity: 'medium',
    title: 'BIMI logo location is not HTTPS',
    remediation: 'Serve the SVG over HTTPS and put the https: URL in l=.',
    reference: DRAFT,
  },
  logo_unreachable: {
    severity: 'medium',
    title: 'BIMI logo cannot be fetched',
    remediation: 'The l= URL must answer 200 over HTTPS with a valid certificate and without redirects.',
    reference: DRAFT,
  },
  logo_invalid_svg: {
    severity: 'medium',
    title: 'BIMI logo is not a valid SVG Tiny PS file',
    remediation:
      'Export the logo as SVG Tiny 1.2 Portable/Secure: root <svg version="1.2" baseProfile="tiny-ps"> with a <title>, no scripts, no external references, served as image/svg+xml, under 32 KB.',
    reference: 'draft-svg-tiny-ps-abrotman',
  },
  no_vmc: {
    severity: 'info',
    title: 'No BIMI evidence document (VMC/CMC)',
    remediation:
      'Several large mailbox providers only show logos backed by a Verified or Common Mark Certificate (a=).',
    reference: DRAFT,
  },
  vmc_unreachable: {
    severity: 'medium',
    title: 'BIMI evidence document cannot be fetched',
    remediation: 'The a= URL must answer 200 over HTTPS with the PEM certificate chain.',
    reference: DRAFT,
  },
  vmc_invalid: {
    severity: 'medium',
    title: 'BIMI evidence document is not a PEM certificate',
    remediation: 'Serve the VMC/CMC as PEM ("-----BEGIN CERTIFICATE-----" blocks, leaf first).',
    reference: DRAFT,
  },
  lookup_unknown: {
    severity: 'info',
    title: 'BIMI lookup failed',
    remediation:
      'A DNS lookup or fetch timed out or failed, or the DMARC result is unknown; retried on the next run.',
  },
});
