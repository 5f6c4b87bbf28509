/**
 * Server-rendered HTML through Hono's `html` tag: every interpolated string is escaped
 * (& < > " '), nested fragments are kept as they are. `h` insists on the synchronous form, so
 * a page is a plain value and no view can hide an await.
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Html = HtmlEscapedString;

export function h(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const out = html(strings, ...values);
  if (out instanceof Promise) throw new TypeError('h: asynchronous HTML fragments are not used');
  return out;
}

/** Joins fragments (each already escaped) without a separator. */
export function join(fragments: readonly Html[]): Html {
  return raw(fragments.map(String).join(''));
}

export const nothing: Html = raw('');
