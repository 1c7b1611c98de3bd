import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CORPUS_DIR } from '../dmarc/zonefile.test-helper.ts';
import { analyseSvg, MAX_SVG_BYTES, SVG_TINY_PS_ELEMENTS } from './svg.ts';

const GOOD_SVG = readFileSync(`${CORPUS_DIR}/bimi/mail-bimi/FM-good.svg`, 'utf8');
const SVG = 'image/svg+xml';
const bytes = (text: string) => new TextEncoder().encode(text);
const problemsOf = (text: string, contentType: string | null = SVG) =>
  analyseSvg(bytes(text), contentType).problems;

describe(analyseSvg.name, () => {
  it('should accept the corpus logo (Fastmail, SVG Tiny PS) and read its title', () => {
    const result = analyseSvg(bytes(GOOD_SVG), 'image/svg+xml; charset=utf-8');
    expect(result.problems).toEqual([]);
    expect(result.title).toBe('FM-Icon-RGB');
    expect(result.rootAttributes).toMatchObject({ version: '1.2', baseProfile: 'tiny-ps' });
  });

  it('should accept an XML declaration, comments and a DOCTYPE without internal subset', () => {
    const text = `<?xml version="1.0" encoding="UTF-8"?>\n<!-- logo -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n${GOOD_SVG}`;
    expect(problemsOf(text)).toEqual([]);
  });

  it.each([
    ['baseProfile', GOOD_SVG.replace('baseProfile="tiny-ps"', 'baseProfile="tiny"'), 'baseProfile="tiny-ps"'],
    ['version', GOOD_SVG.replace('version="1.2"', 'version="1.1"'), 'version="1.2"'],
    ['title', GOOD_SVG.replace(/<title>.*<\/title>/, ''), 'no <title>'],
    ['script', GOOD_SVG.replace('</svg>', '<script>alert(1)</script></svg>'), '<script> is not allowed'],
    [
      'image',
      GOOD_SVG.replace('</svg>', '<image href="https://evil.example/x.png"/></svg>'),
      '<image> is not allowed',
    ],
    [
      'event handler',
      GOOD_SVG.replace('<g id="Artwork">', '<g id="Artwork" onload="x()">'),
      'event handler onload',
    ],
    [
      'external use',
      GOOD_SVG.replace('</svg>', '<use xlink:href="https://evil.example/a.svg#x"/></svg>'),
      'outside the document',
    ],
    [
      'external url()',
      GOOD_SVG.replace('fill="#0067b9"', 'fill="url(https://evil.example/p)"'),
      'references https://evil',
    ],
    ['root x/y', GOOD_SVG.replace('<svg ', '<svg x="0" y="0" '), 'must not have x or y'],
    [
      'editor namespace',
      GOOD_SVG.replace('</svg>', '<sodipodi:namedview/></svg>'),
      '<sodipodi:namedview> is not allowed',
    ],
    ['not closed', GOOD_SVG.replace('</svg>', ''), 'never closed'],
    ['entities', `<!DOCTYPE svg [<!ENTITY a "aaaa">]>${GOOD_SVG}`, 'internal subset'],
    ['root', '<html><title>x</title></html>', 'not <svg>'],
    ['empty', '', 'no root <svg>'],
  ])('should reject a logo with a bad %s', (_, text, problem) => {
    expect(problemsOf(text).join(' | ')).toContain(problem);
  });

  it('should keep internal references', () => {
    const text = GOOD_SVG.replace(
      '</svg>',
      '<defs><linearGradient id="g1"/></defs><use href="#g1"/><rect fill="url(#g1)"/></svg>',
    );
    expect(problemsOf(text)).toEqual([]);
  });

  it('should check the content type, size and compression', () => {
    expect(problemsOf(GOOD_SVG, 'text/html')).toEqual(['the content type is text/html, not image/svg+xml']);
    expect(problemsOf(GOOD_SVG, null)).toEqual(['the content type is missing, not image/svg+xml']);
    const big = GOOD_SVG.replace('</svg>', `<desc>${'x'.repeat(MAX_SVG_BYTES)}</desc></svg>`);
    expect(problemsOf(big)[0]).toContain('more than');
    expect(analyseSvg(new Uint8Array([0x1f, 0x8b, 8, 0]), SVG).problems[0]).toContain('gzip');
  });

  it('should stay bounded on hostile input', () => {
    const many = `<svg version="1.2" baseProfile="tiny-ps"><title>t</title>${'<bad/>'.repeat(3000)}</svg>`;
    expect(problemsOf(many)).toHaveLength(10);
    expect(problemsOf('<svg <<<< >>>>').join()).toContain('not well-formed');
  });

  it('should allow exactly the elements of the SVG 1.2 PS schema in the corpus', () => {
    const rng = readFileSync(`${CORPUS_DIR}/bimi/mail-bimi/SVG_1.2_PS.rng`, 'utf8');
    const schemaElements = new Set([...rng.matchAll(/<element name="([^"]+)"/g)].map((m) => m[1]));
    expect([...SVG_TINY_PS_ELEMENTS].sort()).toEqual([...schemaElements].sort());
  });
});
