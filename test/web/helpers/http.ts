/**
 * A small form-posting HTTP client over fetch: keeps the one cookie kzymy may set, follows no
 * redirect by itself (tests look at each response), and reads form fields out of the HTML.
 */
import { createHash } from 'node:crypto';
import { leadingZeroBits } from '../../../src/web/pow';

export interface WebResponse {
  status: number;
  headers: Headers;
  body: string;
  location: string | null;
}

export class WebClient {
  readonly cookies = new Map<string, string>();
  /** Every response this client received, for header and URL checks. */
  readonly seen: Array<{ method: string; path: string; response: WebResponse }> = [];

  constructor(readonly base: string) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<WebResponse> {
    return this.send('GET', path, undefined, headers);
  }

  /** Posts url-encoded fields, or multipart when given FormData. */
  async post(
    path: string,
    fields: Record<string, string> | FormData,
    headers: Record<string, string> = {},
  ): Promise<WebResponse> {
    const body = fields instanceof FormData ? fields : new URLSearchParams(fields);
    return this.send('POST', path, body, headers);
  }

  /** GET, then follow 303 redirects (as a browser does after a form post). */
  async follow(response: WebResponse): Promise<WebResponse> {
    let current = response;
    while (current.status === 303 && current.location) {
      current = await this.get(current.location);
    }
    return current;
  }

  private async send(
    method: string,
    path: string,
    body: FormData | URLSearchParams | undefined,
    headers: Record<string, string>,
  ): Promise<WebResponse> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(this.base + path, {
      method,
      body,
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...headers },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = (pair ?? '').indexOf('=');
      const name = (pair ?? '').slice(0, eq).trim();
      const value = (pair ?? '').slice(eq + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '')
        this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const response = {
      status: res.status,
      headers: res.headers,
      body: await res.text(),
      location: res.headers.get('location'),
    };
    this.seen.push({ method, path, response });
    return response;
  }
}

export function unescapeHtml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The value of the first `<input name="…" value="…">` in the page. */
export function inputValue(html: string, name: string): string {
  const tag = new RegExp(`<input[^>]*\\bname="${name}"[^>]*>`).exec(html);
  if (!tag) throw new Error(`no input named ${name} in the page`);
  const value = /\bvalue="([^"]*)"/.exec(tag[0]);
  return unescapeHtml(value?.[1] ?? '');
}

/** The text of `<pre id="…"><code>…</code></pre>`. */
export function preText(html: string, id: string): string {
  const match = new RegExp(`<pre[^>]*id="${id}"[^>]*><code>([\\s\\S]*?)</code></pre>`).exec(html);
  if (!match) throw new Error(`no block #${id} in the page`);
  return unescapeHtml(match[1] as string);
}

/** The user-facing problem paragraph of a page, if any. */
export function problemText(html: string): string | null {
  const match = /<p class="problem"[^>]*>([\s\S]*?)<\/p>/.exec(html);
  return match ? unescapeHtml(match[1] as string) : null;
}

/** Solves a proof-of-work challenge the way pow.js does (test-sized difficulties only). */
export function solvePow(challenge: string, bits: number): string {
  for (let n = 0; ; n++) {
    const digest = createHash('sha256').update(`${challenge}:${n}`).digest();
    if (leadingZeroBits(digest) >= bits) return String(n);
  }
}

/** Values in a decrypted activation message. */
export function activationFields(plaintext: string): {
  code: string;
  password?: string;
  username: string;
} {
  const code = /^Activation code:\s+(\S+)$/m.exec(plaintext)?.[1];
  const username = /^Username:\s+(\S+)$/m.exec(plaintext)?.[1];
  const password = /^Password:\s+(\S+)$/m.exec(plaintext)?.[1];
  if (!code || !username) throw new Error('not an activation message');
  return { code, username, ...(password ? { password } : {}) };
}
