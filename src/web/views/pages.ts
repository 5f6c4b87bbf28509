/** The start page and the rendered user documentation. */
import { h, type Html } from '../html';
import { page } from './layout';

export function homePage(domain: string): Html {
  return page({
    title: 'Pseudonymous mail',
    body: h`<h1>Receive-only, pseudonymous mail</h1>
<p>kzymy gives you a mail domain of your own under <code>${domain}</code>: any address at it
  reaches you. Every message is encrypted to your OpenPGP key before the server stores it, and
  deleted from the server once you have fetched it.</p>
<ul>
  <li>No name, email address or phone number is asked for. All you bring is a public key.</li>
  <li>The server keeps no IP addresses and sets no cookies until you log in.</li>
  <li>These pages work with JavaScript turned off (Tor Browser's "Safest" level).</li>
</ul>
<p><a class="button" href="/signup">Sign up</a> <a href="/docs/signup">How it works</a>
  · <a href="/activate">Activate an account</a> · <a href="/login">Log in</a></p>`,
  });
}

export function docPage(title: string, body: Html): Html {
  return page({ title, body: h`<article class="doc">${body}</article>` });
}
