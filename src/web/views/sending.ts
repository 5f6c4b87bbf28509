/** The account page's sections for senders: keys published by WKD, and sending as the nym. */
import type { SendingSettings } from '../../store/types';
import { h, join, type Html } from '../html';
import { hidden } from './layout';

/** Which of her addresses the Web Key Directory hands out her key for (docs/wkd.md). */
export function publishedSection(mailDomain: string, addresses: readonly string[]): Html {
  const list =
    addresses.length === 0
      ? h`<p class="hint">None: your key has no user ID under <code>${mailDomain}</code> that
  receives mail. Add one to publish it (see <code>docs/wkd.md</code>).</p>`
      : h`<ul class="addresses">${join(addresses.map((a) => h`<li><code>${a}</code></li>`))}</ul>`;
  return h`<section class="card">
<h2>Key published for senders</h2>
<p>Mail programs that look keys up by address (Web Key Directory) find your key, with only the
  one user ID they asked for, for these addresses:</p>
${list}
</section>`;
}

export interface SendingView {
  csrf: string;
  mailDomain: string;
  settings: SendingSettings;
}

/** Shown only when the operator offers sending (send.enabled). */
export function sendingSection(v: SendingView): Html {
  const { enabled, signAsNym } = v.settings;
  return h`<section class="card">
<h2>Sending as the nym is ${enabled ? 'on' : 'off'}</h2>
<p>${
    enabled
      ? h`A message you sign with your key (PGP/MIME) and send through this server's submission
  port, From an address under <code>${v.mailDomain}</code>, goes out under that address. A
  message that is not signed with your key is refused, even with your password.`
      : h`Nothing is sent from your addresses, whatever is submitted with your password.`
  }</p>
<form method="post" action="/account/sending">
  ${hidden('csrf', v.csrf)}${hidden('send', enabled ? 'off' : 'on')}
  <button type="submit">${enabled ? 'Turn sending off' : 'Turn sending on'}</button>
</form>
<h3>Sign as the nym: ${signAsNym ? 'on' : 'off'}</h3>
<p>${
    signAsNym
      ? h`Your signature stays on what leaves: recipients can check it with your key.`
      : h`kzymy checks your signature, then sends the signed content without it.`
  }</p>
<form method="post" action="/account/sign-as-nym">
  ${hidden('csrf', v.csrf)}${hidden('sign', signAsNym ? 'off' : 'on')}
  <button type="submit">${signAsNym ? 'Send without my signature' : 'Keep my signature'}</button>
</form>
<p class="hint">Outgoing server: this server's onion address, port 587 (or 465 with TLS), your
  username and password.</p>
</section>`;
}
