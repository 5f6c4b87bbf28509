/**
 * The page frame. No inline script or style anywhere (the CSP forbids both): the look comes
 * from /static/style.css and behaviour, where there is any, from files under /static/.
 */
import { h, nothing, type Html } from '../html';

export interface PageOptions {
  title: string;
  body: Html;
  /** Scripts under /static/ this page uses; every page works without them. */
  scripts?: readonly ('pow.js' | 'copy.js')[];
  /** Logged-in pages show the account navigation. */
  account?: { username: string; csrf: string };
}

export function page(options: PageOptions): Html {
  const scripts = (options.scripts ?? []).map(
    (name) => h`<script src="/static/${name}" defer></script>`,
  );
  return h`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${options.title} · kzymy</title>
<link rel="stylesheet" href="/static/style.css">
${scripts}
</head>
<body>
<header class="top">
  <a class="brand" href="/">kzymy</a>
  <nav>${options.account ? accountNav(options.account) : publicNav()}</nav>
</header>
<main>
${options.body}
</main>
<footer><a href="/docs/signup">How signing up works</a></footer>
</body>
</html>`;
}

function publicNav(): Html {
  return h`<a href="/signup">Sign up</a> <a href="/activate">Activate</a> <a href="/login">Log in</a>`;
}

function accountNav(account: { username: string; csrf: string }): Html {
  return h`<a href="/account">${account.username}</a>
    <form class="inline" method="post" action="/logout">
      <input type="hidden" name="csrf" value="${account.csrf}">
      <button type="submit" class="link">Log out</button>
    </form>`;
}

/** A block of text the user copies (commands, PGP messages); copy.js adds a button. */
export function copyable(text: string, id?: string): Html {
  return h`<pre class="copy" ${id ? h`id="${id}"` : nothing}><code>${text}</code></pre>`;
}

export function problem(message: string | null | undefined): Html {
  return message ? h`<p class="problem" role="alert">${message}</p>` : nothing;
}

export function notice(message: string | null | undefined): Html {
  return message ? h`<p class="notice" role="status">${message}</p>` : nothing;
}

export function hidden(name: string, value: string): Html {
  return h`<input type="hidden" name="${name}" value="${value}">`;
}
