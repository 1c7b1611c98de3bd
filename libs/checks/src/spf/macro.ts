/**
 * SPF macros (RFC 7208 §7): parsing a macro-string into tokens, and expanding it.
 *
 *   macro-string = *( macro-expand / macro-literal )
 *   macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
 *   macro-literal = %x21-24 / %x26-7E     ; visible characters except "%"
 *   explain-string = *( macro-string / SP )
 *
 * Expansion is synchronous: the one value that needs DNS (%{p}) is computed by the caller and
 * handed in with the others.
 */
import { MAX_DOMAIN_LENGTH, stripTrailingDot } from './domain-name.ts';

export type MacroLetter = 's' | 'l' | 'o' | 'd' | 'i' | 'p' | 'h' | 'c' | 'r' | 't' | 'v';

/** Letters allowed in a domain-spec; c, r and t only in explanation text (RFC 7208 §7.2). */
const DOMAIN_LETTERS = new Set<string>(['s', 'l', 'o', 'd', 'i', 'p', 'h', 'v']);
const ALL_LETTERS = new Set<string>([...DOMAIN_LETTERS, 'c', 'r', 't']);
const DELIMITERS = '.-+,/_='; // RFC 7208 §7.1 delimiter
const DEFAULT_DELIMITER = '.';

export interface MacroExpand {
  kind: 'macro';
  letter: MacroLetter;
  /** Upper-case letter: URL-escape the expansion (RFC 7208 §7.3). */
  urlEscape: boolean;
  /** Keep only this many right-hand parts. */
  keep?: number;
  reverse: boolean;
  delimiters: string;
  /** Offset of the `%` in the text handed to `parseMacroString` (plus `offset`). */
  position: number;
  text: string;
}
export interface MacroEscape {
  kind: 'escape';
  text: '%%' | '%_' | '%-';
  value: '%' | ' ' | '%20';
  position: number;
}
export interface MacroLiteral {
  kind: 'literal';
  text: string;
  position: number;
}
export type MacroToken = MacroExpand | MacroEscape | MacroLiteral;

/**
 * `domain`: a domain-spec (§7.1); `explanation`: the TXT of an exp= target, which may contain
 * spaces and the c/r/t letters (§6.2, §7.2); `modifier`: an unknown modifier's value, checked
 * against the ABNF only (all letters allowed).
 */
export type MacroContext = 'domain' | 'explanation' | 'modifier';

export interface MacroSyntaxError {
  message: string;
  position: number;
}

export type MacroParse =
  | { tokens: MacroToken[]; error?: undefined }
  | { tokens?: undefined; error: MacroSyntaxError };

const ESCAPES: Record<string, MacroEscape['value']> = { '%': '%', _: ' ', '-': '%20' };

function isLiteralChar(code: number, context: MacroContext): boolean {
  if (code === 0x20) return context === 'explanation';
  return code >= 0x21 && code <= 0x7e && code !== 0x25;
}

function parseExpand(
  text: string,
  start: number,
  context: MacroContext,
  offset: number,
): { token: MacroExpand; end: number } | { error: MacroSyntaxError } {
  // text[start] is '%' and text[start + 1] is '{'.
  const fail = (message: string, at: number) => ({ error: { message, position: offset + at } });
  let index = start + 2;
  const letterChar = text[index];
  if (letterChar === undefined) return fail('unterminated macro', start);
  const letter = letterChar.toLowerCase();
  const allowed = context === 'domain' ? DOMAIN_LETTERS : ALL_LETTERS;
  if (!allowed.has(letter)) {
    const onlyInExp = ALL_LETTERS.has(letter)
      ? ' (c, r and t are allowed only in exp= text, RFC 7208 §7.2)'
      : '';
    return fail(`invalid macro letter "${letterChar}"${onlyInExp}`, index);
  }
  index++;
  let digits = '';
  while (index < text.length && /[0-9]/.test(text[index] as string)) digits += text[index++];
  let keep: number | undefined;
  if (digits !== '') {
    keep = Number.parseInt(digits, 10);
    // RFC 7208 §7.3: "If a DIGIT is specified, the value MUST be nonzero."
    if (keep === 0) return fail('macro transformer digit must be nonzero', index - digits.length);
  }
  let reverse = false;
  if (text[index] === 'r' || text[index] === 'R') {
    reverse = true;
    index++;
  }
  let delimiters = '';
  while (index < text.length && DELIMITERS.includes(text[index] as string)) delimiters += text[index++];
  if (text[index] !== '}') return fail('invalid character in macro, expected "}"', index);
  const token: MacroExpand = {
    kind: 'macro',
    letter: letter as MacroLetter,
    urlEscape: letterChar !== letter,
    reverse,
    delimiters: delimiters === '' ? DEFAULT_DELIMITER : delimiters,
    position: offset + start,
    text: text.slice(start, index + 1),
  };
  if (keep !== undefined) token.keep = keep;
  return { token, end: index + 1 };
}

export function parseMacroString(text: string, context: MacroContext, offset = 0): MacroParse {
  const tokens: MacroToken[] = [];
  let literalStart = -1;
  const flushLiteral = (end: number) => {
    if (literalStart >= 0)
      tokens.push({ kind: 'literal', text: text.slice(literalStart, end), position: offset + literalStart });
    literalStart = -1;
  };
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code !== 0x25) {
      if (!isLiteralChar(code, context)) {
        return {
          error: {
            message: `character ${JSON.stringify(text[index])} not allowed`,
            position: offset + index,
          },
        };
      }
      if (literalStart < 0) literalStart = index;
      index++;
      continue;
    }
    flushLiteral(index);
    const next = text[index + 1];
    if (next === '{') {
      const parsed = parseExpand(text, index, context, offset);
      if ('error' in parsed) return { error: parsed.error };
      tokens.push(parsed.token);
      index = parsed.end;
    } else if (next !== undefined && next in ESCAPES) {
      tokens.push({
        kind: 'escape',
        text: `%${next}` as MacroEscape['text'],
        value: ESCAPES[next] as MacroEscape['value'],
        position: offset + index,
      });
      index += 2;
    } else {
      // RFC 7208 §7.1: a "%" not followed by "{", "%", "_" or "-" is a syntax error.
      return {
        error: { message: 'a "%" must be followed by "{", "%", "_" or "-"', position: offset + index },
      };
    }
  }
  flushLiteral(text.length);
  return { tokens };
}

export function usesMacros(tokens: MacroToken[]): boolean {
  return tokens.some((token) => token.kind === 'macro');
}

export function macroLetters(tokens: MacroToken[]): Set<MacroLetter> {
  const letters = new Set<MacroLetter>();
  for (const token of tokens) if (token.kind === 'macro') letters.add(token.letter);
  return letters;
}

/** The values the macro letters stand for (RFC 7208 §7.2), already in text form. */
export type MacroValues = Record<MacroLetter, string>;

const UNRESERVED = /[A-Za-z0-9\-._~]/; // RFC 3986 §2.3

/** RFC 7208 §7.3: upper-case macros are URL-escaped; everything outside "unreserved" is encoded. */
export function urlEscape(value: string): string {
  let out = '';
  for (const char of value) {
    if (UNRESERVED.test(char)) {
      out += char;
      continue;
    }
    for (const byte of new TextEncoder().encode(char))
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function escapeForSplit(delimiters: string): RegExp {
  return new RegExp(`[${delimiters.replace(/[\\\]^-]/g, '\\$&')}]`);
}

/** RFC 7208 §7.3: split on the delimiters, optionally reverse, keep the right-hand parts, join with ".". */
function transform(value: string, token: MacroExpand): string {
  const needsSplit = token.reverse || token.keep !== undefined || token.delimiters !== DEFAULT_DELIMITER;
  if (!needsSplit) return value;
  let parts = value.split(escapeForSplit(token.delimiters));
  if (token.reverse) parts = parts.reverse();
  if (token.keep !== undefined && token.keep < parts.length) parts = parts.slice(parts.length - token.keep);
  return parts.join('.');
}

export function expandMacros(tokens: MacroToken[], values: MacroValues): string {
  let out = '';
  for (const token of tokens) {
    if (token.kind === 'literal') out += token.text;
    else if (token.kind === 'escape') out += token.value;
    else {
      const expanded = transform(values[token.letter], token);
      out += token.urlEscape ? urlEscape(expanded) : expanded;
    }
  }
  return out;
}

/**
 * Expands a domain-spec for a DNS query. RFC 7208 §7.3: "if the expanded domain name exceeds 253
 * characters ..., the left side is truncated to fit, by removing successive domain labels (and
 * their following dots) until the total length does not exceed 253 characters." A trailing dot
 * is ignored for queries (it names the same node).
 */
export function expandDomainSpec(tokens: MacroToken[], values: MacroValues): string {
  let name = stripTrailingDot(expandMacros(tokens, values));
  while (name.length > MAX_DOMAIN_LENGTH) {
    const dot = name.indexOf('.');
    if (dot < 0) break;
    name = name.slice(dot + 1);
  }
  return name;
}
