/**
 * Basic checks of a BIMI indicator against the SVG Tiny Portable/Secure profile
 * (draft-svg-tiny-ps-abrotman; the RELAX NG schema "SVG 1.2 PS" that BIMI validators use). This is
 * not a schema validator: it tokenises the XML and checks what makes logos fail in practice —
 * root element and profile, the required <title>, elements outside the profile (script, image,
 * foreignObject, editor namespaces...), event-handler attributes and references to anything
 * outside the document. Entities are never expanded: a DOCTYPE with an internal subset is refused.
 */

/**
 * draft-svg-tiny-ps-abrotman and the BIMI Group's guidance: indicators should stay under 32 KB.
 * (The figure is a SHOULD in the drafts we know; we report it as invalid because large mailbox
 * providers refuse bigger files.)
 */
export const MAX_SVG_BYTES = 32 * 1024;

/** Every element the SVG 1.2 PS schema allows (corpus bimi/mail-bimi/SVG_1.2_PS.rng). */
export const SVG_TINY_PS_ELEMENTS: ReadonlySet<string> = new Set([
  'circle',
  'defs',
  'desc',
  'ellipse',
  'font',
  'font-face',
  'g',
  'glyph',
  'hkern',
  'line',
  'linearGradient',
  'metadata',
  'path',
  'polygon',
  'polyline',
  'radialGradient',
  'rect',
  'solidColor',
  'stop',
  'svg',
  'text',
  'textArea',
  'title',
  'use',
]);

export interface SvgAnalysis {
  /** Empty when the basics hold. */
  problems: string[];
  title: string | null;
  /** The root element's attributes, as written (clipped). */
  rootAttributes: Record<string, string>;
}

interface Tag {
  name: string;
  attributes: Record<string, string>;
  closing: boolean;
  selfClosing: boolean;
  depth: number;
}

const TAG = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
/** Stop after this many problems: one bad file must not produce a huge finding. */
const MAX_PROBLEMS = 10;

function attributesOf(text: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const match of text.matchAll(ATTRIBUTE)) {
    attributes[match[1] ?? ''] = match[2] ?? match[3] ?? '';
  }
  return attributes;
}

/** Splits the document into tags; returns a problem string when it is not well-formed enough. */
function tokenize(text: string, onTag: (tag: Tag) => void): string | null {
  let position = 0;
  let depth = 0;
  const open: string[] = [];
  while (true) {
    const lt = text.indexOf('<', position);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end < 0) return 'an XML comment is not closed';
      position = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt);
      if (end < 0) return 'a CDATA section is not closed';
      position = end + 3;
      continue;
    }
    if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt);
      if (end < 0) return 'a processing instruction is not closed';
      position = end + 2;
      continue;
    }
    if (text.startsWith('<!', lt)) {
      const end = text.indexOf('>', lt);
      const declaration = text.slice(lt, end < 0 ? undefined : end);
      if (declaration.includes('[')) return 'a DOCTYPE with an internal subset (entities) is not allowed';
      if (end < 0) return 'a declaration is not closed';
      position = end + 1;
      continue;
    }
    TAG.lastIndex = lt;
    const match = TAG.exec(text);
    if (!match) return `the XML is not well-formed near character ${lt}`;
    const [, slash = '', name = '', rawAttributes = '', selfClose = ''] = match;
    const closing = slash === '/';
    if (closing) {
      if (open.pop() !== name) return `</${name}> does not close the element that is open`;
      depth--;
    }
    onTag({
      name,
      attributes: closing ? {} : attributesOf(rawAttributes),
      closing,
      selfClosing: selfClose === '/',
      depth,
    });
    if (!closing && selfClose !== '/') {
      open.push(name);
      depth++;
    }
    position = TAG.lastIndex;
  }
  return open.length > 0 ? `<${open.at(-1)}> is never closed` : null;
}

function referencesOutside(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed.startsWith('#') || trimmed === '') return false;
  return true;
}

function attributeProblems(tag: Tag): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(tag.attributes)) {
    if (/^on/i.test(name))
      problems.push(`<${tag.name}> has the event handler ${name} (scripting is not allowed)`);
    if ((name === 'href' || name === 'xlink:href') && referencesOutside(value)) {
      problems.push(`<${tag.name}> references ${value.slice(0, 60)} outside the document`);
    }
    for (const url of value.matchAll(/url\(\s*['"]?([^'")]*)/gi)) {
      if (referencesOutside(url[1] ?? ''))
        problems.push(`<${tag.name}> ${name} references ${(url[1] ?? '').slice(0, 60)}`);
    }
  }
  return problems;
}

function rootProblems(tag: Tag): string[] {
  const problems: string[] = [];
  if (tag.name !== 'svg') return [`the root element is <${tag.name}>, not <svg>`];
  if (tag.attributes.baseProfile !== 'tiny-ps')
    problems.push('the root <svg> must have baseProfile="tiny-ps"');
  if (tag.attributes.version !== '1.2') problems.push('the root <svg> must have version="1.2"');
  // BIMI Group guidance: the root element must not be positioned.
  if ('x' in tag.attributes || 'y' in tag.attributes)
    problems.push('the root <svg> must not have x or y attributes');
  return problems;
}

export function analyseSvg(bytes: Uint8Array, contentType: string | null): SvgAnalysis {
  const result: SvgAnalysis = { problems: [], title: null, rootAttributes: {} };
  const add = (problem: string) => {
    if (result.problems.length < MAX_PROBLEMS) result.problems.push(problem);
  };
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? null;
  if (mediaType !== 'image/svg+xml') add(`the content type is ${mediaType ?? 'missing'}, not image/svg+xml`);
  if (bytes.length > MAX_SVG_BYTES) {
    add(`the file is ${bytes.length} bytes, more than ${MAX_SVG_BYTES}`);
    return result;
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    add('the file is gzip-compressed (svgz); BIMI needs plain SVG');
    return result;
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  let root: Tag | null = null;
  let hasTitle = false;
  const malformed = tokenize(text, (tag) => {
    if (tag.closing) return;
    if (root === null) {
      root = tag;
      result.rootAttributes = Object.fromEntries(
        Object.entries(tag.attributes).map(([k, v]) => [k, v.slice(0, 100)]),
      );
      for (const problem of rootProblems(tag)) add(problem);
    } else if (tag.depth === 0) {
      add('the document has more than one root element');
    }
    if (!SVG_TINY_PS_ELEMENTS.has(tag.name)) add(`<${tag.name}> is not allowed in SVG Tiny PS`);
    if (tag.name === 'title' && tag.depth === 1) hasTitle = true;
    for (const problem of attributeProblems(tag)) add(problem);
  });
  if (malformed) add(malformed);
  if (root === null) add('there is no root <svg> element');
  if (!hasTitle) add('the root <svg> has no <title> child');
  const titleMatch = /<title[^>]*>([^<]*)<\/title>/.exec(text);
  result.title = titleMatch ? (titleMatch[1] ?? '').trim().slice(0, 200) : null;
  return result;
}
