import { describe, expect, it } from 'vitest';
import { decodeEncodedWords, decodeQuotedPrintable, parseContentType, parseMime } from './mime.ts';
import { createExtractor, decodeHtmlReferences } from './urls.ts';

describe(parseMime.name, () => {
  it('should decode quoted-printable, base64 and legacy charsets, and skip attachments', () => {
    const raw = Buffer.concat([
      Buffer.from(
        [
          'From: =?iso-8859-1?Q?J=F6rg?= <j@example.test>',
          'Subject: =?utf-8?B?SMOpbGxv?= =?utf-8?B?IHdvcmxk?=',
          'Content-Type: multipart/mixed; boundary=outer',
          '',
          'preamble --outer-not-a-delimiter',
          '--outer',
          'Content-Type: text/plain; charset="iso-8859-1"',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          'Gr=FC=DFe: https://shop.example/a=3Db=',
          '?x=1',
          '--outer',
          'Content-Type: application/pdf; name="invoice.pdf"',
          'Content-Transfer-Encoding: base64',
          '',
          'JVBERi0xLjQK',
          '--outer',
          'Content-Type: message/rfc822',
          '',
          'From: inner@forwarded.test',
          'Content-Type: text/html; charset=utf-8',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.from('<a href="https://inner.example/">x</a>').toString('base64'),
          '--outer--',
          'epilogue',
        ].join('\r\n'),
        'latin1',
      ),
    ]);
    const mime = parseMime(raw);
    expect(mime.headers.find((h) => h.name === 'from')?.value).toBe('Jörg <j@example.test>');
    expect(mime.headers.find((h) => h.name === 'subject')?.value).toBe('Héllo world');
    expect(mime.nestedHeaders.map((h) => h.value)).toEqual([
      'inner@forwarded.test',
      'text/html; charset=utf-8',
      'base64',
    ]);
    expect(mime.texts.map((t) => [t.contentType, t.text])).toEqual([
      ['text/plain', 'Grüße: https://shop.example/a=b?x=1'],
      ['text/html', '<a href="https://inner.example/">x</a>'],
    ]);
    expect(mime.others).toEqual([{ contentType: 'application/pdf', filename: 'invoice.pdf', bytes: 12 }]);
    expect(mime.truncated).toEqual([]);
  });

  it('should read bare LF messages and a message without a body', () => {
    expect(parseMime(Buffer.from('Subject: only a header')).headers).toEqual([
      { name: 'subject', value: 'only a header' },
    ]);
    const mime = parseMime(Buffer.from('Subject: x\n\nhttps://lf.example/\n'));
    expect(mime.texts[0]?.text).toBe('https://lf.example/\n');
  });

  it('should parse parameters and encodings leniently', () => {
    expect(parseContentType('Text/HTML; Charset="utf-8"; x=y')).toEqual({
      type: 'text/html',
      params: { charset: 'utf-8', x: 'y' },
    });
    expect(parseContentType('garbage')).toEqual({ type: 'text/plain', params: {} });
    expect(Buffer.from(decodeQuotedPrintable('a=3D=ZZ=\r\nb')).toString()).toBe('a==ZZb');
    expect(decodeEncodedWords('=?unknown-charset?Q?plain_text?=')).toBe('plain text');
  });
});

describe('URL extraction', () => {
  it('should see through HTML character references, odd IPv4 spellings and IDNs', () => {
    const x = createExtractor();
    x.html(
      '<a href="&#x68;ttps://b&#97;d.example/&amp;x">a</a><a href=http://0x7f.1/>b</a><a href="https://bücher.example/">c</a>',
    );
    x.text('mail me: Someone@Mail.Example. or see (https://paren.example/path).');
    const { urls, hosts } = x.result();
    expect(urls).toEqual([
      'https://bad.example/&x',
      'http://127.0.0.1/',
      'https://xn--bcher-kva.example/',
      'https://paren.example/path',
    ]);
    expect(hosts.map((h) => [h.host, h.kind])).toEqual([
      ['bad.example', 'domain'],
      ['127.0.0.1', 'ip'],
      ['xn--bcher-kva.example', 'domain'],
      ['paren.example', 'domain'],
      ['mail.example', 'domain'],
    ]);
    expect(decodeHtmlReferences('&lt;&#0;&bogus;')).toBe('<&#0;&bogus;');
  });
});
