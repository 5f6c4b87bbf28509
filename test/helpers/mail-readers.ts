/**
 * Test helper: how mail clients read a decrypted payload, reproduced from their sources so a test
 * can prove kzymy's payload is read as intended without the clients themselves.
 *
 * Thunderbird: comm-central at 2e0f1359898c8374375605af59713e4b6159ed5c (mozilla/releases-comm-
 * central, 2026-06-15, the last commit before version 154.0a1, so the source of Thunderbird 153
 * ESR that Debian ships as 1:153.8.0esr; the files cited are unchanged up to cf9726f5, 2026-08-22):
 *
 * - mail/extensions/openpgp/content/modules/mime.sys.mjs, EnigmailMime.extractProtectedHeaders
 *   (line 183): parse the top-level header section of the decrypted data with
 *   MimeParser.extractHeadersAndBody; the protected headers count only if its Content-Type has
 *   the parameter protected-headers equal to "v1".
 * - mailnews/mime/jsmime/jsmime.mjs: where a header section ends (MimeParser.prototype.
 *   _dispatchData: `/(?:^(?:\r\n|[\r\n]))|(\r\n|[\r\n])\1/`), how it is split into fields
 *   (StructuredHeaders: `/(?:\r\n|\n)(?![ \t])|\r(?![ \t\n])/`, an mbox "From " line skipped,
 *   names trimmed and lowercased), and how Content-Type is read (parseContentType: the first
 *   field only; a type without exactly one "/" becomes text/plain without parameters;
 *   parseParameterHeader line 1139: the first value of a parameter wins).
 * - mail/extensions/openpgp/content/ui/enigmailMsgHdrViewOverlay.js, modifyMessageHeaders (line
 *   579): what Thunderbird shows from them: the Subject (message list and header pane) and the
 *   Date (message list); From, To and Cc stay those of the outer message.
 * - mail/extensions/openpgp/content/modules/mimeDecrypt.sys.mjs, handleResult (line 611): with no
 *   "Content-Type:" line before the first empty line, Thunderbird prefixes
 *   "Content-Type: text/plain" and shows the header lines as body text.
 *
 * Thunderbird up to 115 ESR: mail/extensions/openpgp/content/modules/mime.jsm at 6ebb9e52f13261d5
 * c421f2c152f483cc2980cd75 (the parent of 0abbc73468, "Bug 1803986 - Part 4", November 2023):
 * the header section read is everything before the first line that begins with "--"; with no
 * such line (a text/plain-only payload without a signature separator) it reads nothing: the
 * trap anonaddy#352 fell into.
 *
 * RFC 9788 §4 (receiving): the Cryptographic Payload's root part carries hp="cipher" on its
 * Content-Type; its non-structural header fields are the message's; HP-Outer records the outer
 * ones (§2.2).
 */

/** Thunderbird's reading of a payload: what it found and what it shows. */
export interface ThunderbirdReading {
  /** The structured Content-Type of the top-level header section. */
  contentType: { type: string; params: Map<string, string> };
  /** All top-level fields (lowercase names, values trimmed), as jsmime splits them. */
  fields: Map<string, string[]>;
  /** Null when extractProtectedHeaders finds no protected headers. */
  protectedHeaders: { subject?: string; date?: string } | null;
  /** handleResult would show the header lines as body text. */
  headersShownAsBody: boolean;
}

/** Thunderbird 153 ESR's reading of a decrypted payload (see the file comment for sources). */
export function readAsThunderbird(decrypted: Buffer): ThunderbirdReading {
  // RNP hands the decrypted data over as a binary string (one char per byte).
  const data = decrypted.toString('latin1');
  const end = /(?:^(?:\r\n|[\r\n]))|(\r\n|[\r\n])\1/.exec(data);
  const headerText = end ? data.slice(0, end.index) : data;
  const fields = jsmimeFields(headerText);
  const contentType = jsmimeContentType(fields.get('content-type')?.[0]);
  const marked = contentType.params.get('protected-headers') === 'v1';
  const firstEmpty = data.search(/\n\r?\n/);
  const headersShownAsBody =
    firstEmpty >= 0 && !/^Content-Type:/im.test(data.substring(0, firstEmpty));
  return {
    contentType,
    fields,
    protectedHeaders: marked
      ? { subject: fields.get('subject')?.[0], date: fields.get('date')?.[0] }
      : null,
    headersShownAsBody,
  };
}

/** Thunderbird up to 115 ESR: the Subject it would take from the payload, or null. */
export function subjectAsThunderbird115(decrypted: Buffer): string | null {
  const data = decrypted.toString('latin1');
  const m = data.search(/^--/m);
  // String.prototype.substr with a negative length is "", so no "--" line means no headers.
  const outer = jsmimeFields(headerSectionOf(m < 0 ? '' : data.substring(0, m)));
  const ct = outer.get('content-type')?.[0] ?? '';
  if (ct === '') return null;
  let startPos: number;
  if (/^multipart\//i.test(ct)) {
    if (m < 5) return null;
    const bound = jsmimeContentType(ct).params.get('boundary') ?? '';
    if (bound === '') return null;
    const r = new RegExp('^--' + bound.replace(/[.*+\-?^${}()|[\]\\]/g, '\\$&'), 'mg');
    const first = r.exec(data);
    const second = r.exec(data);
    if (!first?.index || !second?.index) return null;
    startPos = first.index;
  } else {
    startPos = data.length;
  }
  const headers = jsmimeFields(headerSectionOf(data.substring(0, startPos)));
  const marker = jsmimeContentType(headers.get('content-type')?.[0]).params.get(
    'protected-headers',
  );
  if (!/^v1$/i.test(marker ?? '')) return null;
  return headers.get('subject')?.[0] ?? null;
}

/** What an RFC 9788 receiver finds in a decrypted payload. */
export interface Rfc9788Reading {
  /** The hp parameter of the root part, if any. */
  hp: string | undefined;
  /** The protected header fields: non-structural, without HP-Outer, in order. */
  fields: [name: string, value: string][];
  /** HP-Outer values (RFC 9788 §2.2). */
  hpOuter: string[];
  /** The root's body parts when it is multipart (raw entities), else []. */
  parts: Buffer[];
}

/**
 * RFC 9788 §4: the root part of the Cryptographic Payload (here the decrypted data itself, as
 * kzymy never signs) and its header section, read by RFC 5322 (CR LF lines, unfolded).
 */
export function readAsRfc9788(decrypted: Buffer): Rfc9788Reading {
  const text = decrypted.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const header = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 4);
  const all: [string, string][] = header
    .split(/\r\n(?![ \t])/)
    .filter((line) => line.includes(':'))
    .map((line) => {
      const colon = line.indexOf(':');
      return [
        line.slice(0, colon).trim(),
        line
          .slice(colon + 1)
          .replace(/\r\n/g, '')
          .trim(),
      ];
    });
  const structural = (name: string): boolean =>
    /^content-/i.test(name) || /^mime-version$/i.test(name);
  const contentType = jsmimeContentType(all.find(([name]) => /^content-type$/i.test(name))?.[1]);
  return {
    hp: contentType.params.get('hp'),
    fields: all.filter(([name]) => !structural(name) && !/^hp-outer$/i.test(name)),
    hpOuter: all.filter(([name]) => /^hp-outer$/i.test(name)).map(([, value]) => value),
    parts: contentType.type.startsWith('multipart/')
      ? multipartParts(body, contentType.params.get('boundary') ?? '')
      : [],
  };
}

/** RFC 2046 §5.1.1: the body parts between the delimiters (each without the CR LF before one). */
export function multipartParts(body: string, boundary: string): Buffer[] {
  if (boundary === '') return [];
  const delimiter = `--${boundary}`;
  let at = body.startsWith(delimiter) ? 0 : body.indexOf(`\r\n${delimiter}`);
  if (at < 0) return [];
  if (at > 0) at += 2;
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (body.startsWith(`${delimiter}--`, at) || lineEnd < 0) break;
    const next = body.indexOf(`\r\n${delimiter}`, lineEnd);
    if (next < 0) break;
    parts.push(Buffer.from(body.slice(lineEnd + 2, next), 'latin1'));
    at = next + 2;
  }
  return parts;
}

/** jsmime StructuredHeaders: field names lowercased, each value trimmed, all values kept. */
function jsmimeFields(rawHeaderText: string): Map<string, string[]> {
  const values = rawHeaderText.split(/(?:\r\n|\n)(?![ \t])|\r(?![ \t\n])/);
  if (values.length > 0 && (values[0] ?? '').substring(0, 5) === 'From ') values.shift();
  const headers = new Map<string, string[]>();
  for (const line of values) {
    const colon = line.indexOf(':');
    const name = (colon >= 0 ? line.substring(0, colon) : line).trim().toLowerCase();
    const value = colon >= 0 ? line.substring(colon + 1).trim() : '';
    if (name === '') continue;
    const list = headers.get(name);
    if (list) list.push(value);
    else headers.set(name, [value]);
  }
  return headers;
}

/** The text before the first empty line (what nsIMimeHeaders.initialize reads as headers). */
function headerSectionOf(text: string): string {
  const end = /(?:^(?:\r\n|[\r\n]))|(\r\n|[\r\n])\1/.exec(text);
  return end ? text.slice(0, end.index) : text;
}

/**
 * jsmime parseContentType over parseParameterHeader (without RFC 2231 continuations, which
 * kzymy never writes): the type is the text before the first ";", up to white space.
 */
function jsmimeContentType(value: string | undefined): {
  type: string;
  params: Map<string, string>;
} {
  if (value === undefined) return { type: 'text/plain', params: new Map() };
  const semi = value.indexOf(';');
  const start = (semi < 0 ? value : value.substring(0, semi)).trim().split(/[ \t\r\n]/)[0] ?? '';
  const parts = start.split('/');
  if (parts.length !== 2) return { type: 'text/plain', params: new Map() };
  const params = new Map<string, string>();
  let name = '';
  let inName = true;
  for (const token of parameterTokens(semi < 0 ? '' : value.substring(semi))) {
    if (token === ';') {
      name = '';
      inName = true;
    } else if (token === '=') {
      inName = false;
    } else if (inName && name === '') {
      name = token;
    } else if (!inName && name !== '') {
      // The first value of a parameter wins.
      if (!params.has(name.toLowerCase())) params.set(name.toLowerCase(), token);
      name = '';
    } else if (inName) {
      name = '';
    }
  }
  return { type: `${parts[0]}/${parts[1]}`.toLowerCase(), params };
}

/** jsmime getHeaderTokens(value, ";=", { qstring: true }), reduced to what parameters need. */
function parameterTokens(value: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  const flush = (): void => {
    if (current !== '') tokens.push(current);
    current = '';
  };
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (quoted) {
      if (ch === '\\' && i + 1 < value.length) current += value[++i];
      else if (ch === '"') {
        quoted = false;
        tokens.push(current);
        current = '';
      } else current += ch;
    } else if (ch === '"') {
      flush();
      quoted = true;
    } else if (ch === ';' || ch === '=') {
      flush();
      tokens.push(ch);
    } else if (/[ \t\r\n]/.test(ch)) {
      flush();
    } else current += ch;
  }
  flush();
  return tokens;
}
