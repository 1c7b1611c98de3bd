import { describe, expect, it } from 'vitest';
import { findingCatalogue, findingDefinition } from './catalogue.ts';
import { severities } from './findings.ts';

describe('findingCatalogue', () => {
  it('should give every finding a unique, well-formed code under its own check', () => {
    const codes = findingCatalogue.map((d) => d.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const definition of findingCatalogue) {
      expect(definition.code).toMatch(/^[a-z_]+\.[a-z0-9_]+$/);
      expect(definition.code.startsWith(`${definition.check}.`)).toBe(true);
      expect(severities).toContain(definition.severity);
      expect(definition.title.length).toBeGreaterThan(5);
      expect(definition.remediation.length).toBeGreaterThan(15);
    }
  });

  it('should look a definition up by its code', () => {
    expect(findingDefinition('spf.too_many_lookups')).toMatchObject({ check: 'spf', severity: 'high' });
    expect(findingDefinition('dmarc.policy_none')?.check).toBe('dmarc');
    expect(findingDefinition('nope.nothing')).toBeUndefined();
  });
});
