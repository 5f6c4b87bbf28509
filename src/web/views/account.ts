/** The login page and the pages of a logged-in account. */
import type { KeyInfo } from '../../pgp/key-check';
import type { User } from '../../store/types';
import { h, join, nothing, type Html } from '../html';
import { clientSettings, type MailServer } from './client-settings';
import { copyable, hidden, notice, page, problem } from './layout';
import { publishedSection, sendingSection, type SendingView } from './sending';
import { fingerprintGroups, sharedKeyWarning } from './signup';

export function loginPage(v: { csrf: string; problem?: string }): Html {
  return page({
    title: 'Log in',
    body: h`<h1>Log in</h1>
<p>With the username and password from your activation message.</p>
${problem(v.problem)}
<form method="post" action="/login" class="card">
  ${hidden('csrf', v.csrf)}
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" spellcheck="false"
    maxlength="63">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password"
    maxlength="200">
  <button type="submit">Log in</button>
</form>
<p class="hint">Logging in sets one cookie, for this session only. kzymy sets no other.</p>`,
  });
}

export interface AccountView {
  user: User;
  csrf: string;
  mailDomain: string;
  notice?: string;
  problem?: string;
  rekeyPending: boolean;
  /** Other accounts with the same key. */
  sharedKey: number;
  /** The forwarding card, when the operator offers forwarding (views/forward.ts). */
  forward?: Html;
  /** Addresses the Web Key Directory publishes the key for. */
  published?: readonly string[];
  /** Present when the operator offers sending. */
  sending?: SendingView;
}

function addressList(v: AccountView, locals: readonly string[], button: string): Html {
  if (locals.length === 0) return h`<p class="hint">None.</p>`;
  return h`<ul class="addresses">${join(
    locals.map(
      (local) => h`<li><code>${local}@${v.mailDomain}</code>
        <form class="inline" method="post" action="/account/addresses">
          ${hidden('csrf', v.csrf)}${hidden('action', 'forget')}${hidden('address', local)}
          <button type="submit" class="small">${button}</button>
        </form></li>`,
    ),
  )}</ul>`;
}

function addressForm(v: AccountView, action: 'disable' | 'allow', label: string): Html {
  const id = `address-${action}`;
  return h`<form method="post" action="/account/addresses" class="row">
  ${hidden('csrf', v.csrf)}${hidden('action', action)}
  <label for="${id}">${label}</label>
  <input id="${id}" name="address" type="text" spellcheck="false" autocomplete="off"
    maxlength="320" placeholder="name or name@${v.mailDomain}">
  <button type="submit">${action === 'disable' ? 'Disable' : 'Allow'}</button>
</form>`;
}

export function accountPage(v: AccountView): Html {
  const { user } = v;
  const catchAll = user.policy.catchAll;
  return page({
    title: 'Your account',
    account: { username: user.username, csrf: v.csrf },
    body: h`<h1>Your account</h1>
${notice(v.notice)}
${problem(v.problem)}
<p>Your mail domain is <code>${v.mailDomain}</code>.
  <a href="/account/settings">Mail client settings</a></p>

<section class="card">
<h2>Catch-all is ${catchAll ? 'on' : 'off'}</h2>
<p>${catchAll ? h`Mail to any address <code>…@${v.mailDomain}</code> is accepted, except the disabled ones below.` : h`Only the allowed addresses below receive mail; everything else is refused.`}</p>
<form method="post" action="/account/catch-all">
  ${hidden('csrf', v.csrf)}${hidden('catchall', catchAll ? 'off' : 'on')}
  <button type="submit">${catchAll ? 'Turn the catch-all off' : 'Turn the catch-all on'}</button>
</form>
</section>

<section class="card">
<h2>Disabled addresses</h2>
<p>A leaked address is killed here in one step: mail to it is refused from now on, whatever
  else is set.</p>
${addressForm(v, 'disable', 'Address to disable')}
${addressList(v, user.policy.disabled, 'Enable again')}
</section>

<section class="card">
<h2>Allowed addresses</h2>
<p>With the catch-all off, only these receive mail.</p>
${addressForm(v, 'allow', 'Address to allow')}
${addressList(v, user.policy.allowed, 'Remove')}
</section>

${v.forward ?? nothing}

<section class="card">
<h2>What you receive: ${user.payloadFormat === 'exact' ? 'the exact message' : 'protected headers'}</h2>
${
  user.payloadFormat === 'exact'
    ? h`<p>Decrypting a message gives kzymy's delivery lines (Return-Path, Delivered-To,
  Authentication-Results), then the message exactly as it arrived, for a pipeline that needs it
  (procmail, checking the sender's signature). Mail clients show the outer Subject
  <code>...</code>, and the stored size follows the message's size.</p>`
    : h`<p>Decrypting a message gives it with its headers marked as protected, so that mail clients
  (Thunderbird among them) show its real Subject; it carries the sender checks made on arrival
  (Authentication-Results) and is padded to a standard size, so the stored size reveals little.
  The message's own body is kept byte for byte.</p>`
}
<form method="post" action="/account/payload">
  ${hidden('csrf', v.csrf)}${hidden('payload', user.payloadFormat === 'exact' ? 'protected' : 'exact')}
  <button type="submit">${user.payloadFormat === 'exact' ? 'Receive protected headers' : 'Receive the exact message instead'}</button>
</form>
</section>

<section class="card">
<h2>Password</h2>
<p>A new password is generated for you and shown encrypted to your key; the old one stops
  working at once, and other logged-in sessions end.</p>
<form method="post" action="/account/password">
  ${hidden('csrf', v.csrf)}
  <button type="submit">Make a new password</button>
</form>
</section>

<section class="card">
<h2>Key</h2>
<p>Mail is encrypted to <code>${fingerprintGroups(user.fingerprint)}</code>.</p>
${sharedKeyWarning(v.sharedKey)}
${v.rekeyPending ? h`<p class="notice">A key replacement is waiting for its code: <a href="/account/key">enter it</a>.</p>` : nothing}
<p><a href="/account/key">Replace the key</a></p>
</section>

${v.published ? publishedSection(v.mailDomain, v.published) : nothing}
${v.sending ? sendingSection(v.sending) : nothing}

<section class="card danger">
<h2>Delete the account</h2>
<p><a href="/account/delete">Delete the account</a> with all waiting mail.</p>
</section>`,
  });
}

export function settingsPage(v: {
  user: User;
  csrf: string;
  mailDomain: string;
  servers: MailServer[];
}): Html {
  return page({
    title: 'Mail client settings',
    scripts: ['copy.js'],
    account: { username: v.user.username, csrf: v.csrf },
    body: h`<h1>Mail client settings</h1>
<p>Mail domain <code>${v.mailDomain}</code>, username <code>${v.user.username}</code>.</p>
${join(v.servers.map((s) => clientSettings(v.user.username, s)))}`,
  });
}

export function encryptedNotePage(v: {
  user: User;
  csrf: string;
  title: string;
  intro: string;
  message: string;
}): Html {
  return page({
    title: v.title,
    scripts: ['copy.js'],
    account: { username: v.user.username, csrf: v.csrf },
    body: h`<h1>${v.title}</h1>
<p>${v.intro}</p>
${copyable(v.message, 'encrypted-message')}
<p>Decrypt it with <code>gpg --decrypt</code> (paste the block, then press Ctrl-D).</p>
<p><a href="/account">Back to the account</a></p>`,
  });
}

export function rekeyPage(v: { user: User; csrf: string; problem?: string }): Html {
  return page({
    title: 'Replace the key',
    account: { username: v.user.username, csrf: v.csrf },
    body: h`<h1>Replace the key</h1>
<p>Mail will be encrypted to the new key once you prove you hold it: a code is encrypted to the
  new key, and you type it back. Until then the current key stays in use.</p>
${problem(v.problem)}
<form method="post" action="/account/key" enctype="multipart/form-data" class="card">
  ${hidden('csrf', v.csrf)}
  <label for="key">The new <strong>public</strong> key</label>
  <textarea id="key" name="key" rows="12" spellcheck="false" autocomplete="off"
    placeholder="-----BEGIN PGP PUBLIC KEY BLOCK-----"></textarea>
  <label for="keyfile">or the exported key file</label>
  <input id="keyfile" name="keyfile" type="file">
  <label for="password">Your current password</label>
  <input id="password" name="password" type="password" autocomplete="current-password"
    maxlength="200">
  <button type="submit">Check the new key</button>
</form>`,
  });
}

export function rekeyCodePage(v: {
  user: User;
  csrf: string;
  key?: KeyInfo;
  message?: string;
  problem?: string;
}): Html {
  const warnings = v.key
    ? join(v.key.warnings.map((w) => h`<p class="warning">${w}</p>`))
    : nothing;
  return page({
    title: 'Confirm the new key',
    scripts: ['copy.js'],
    account: { username: v.user.username, csrf: v.csrf },
    body: h`<h1>Confirm the new key</h1>
${problem(v.problem)}
${
  v.key
    ? h`<p>New key <code>${fingerprintGroups(v.key.fingerprint)}</code> (${v.key.algorithm}), user IDs:
  ${join(v.key.userIds.map((id) => h`<code>${id}</code> `))}</p>${warnings}`
    : nothing
}
${v.message ? h`<p>Decrypt this with the new key (<code>gpg --decrypt</code>) and type the code below:</p>${copyable(v.message, 'activation-message')}` : nothing}
<form method="post" action="/account/key/confirm" class="card">
  ${hidden('csrf', v.csrf)}
  <label for="code">Activation code</label>
  <input id="code" name="code" type="text" autocomplete="off" spellcheck="false" maxlength="64">
  <button type="submit">Use the new key</button>
</form>`,
  });
}

export function deletePage(v: { user: User; csrf: string; problem?: string }): Html {
  return page({
    title: 'Delete the account',
    account: { username: v.user.username, csrf: v.csrf },
    body: h`<h1>Delete the account</h1>
<p class="warning">This deletes the account, every message waiting for you and your address
  settings, at once and for good. Mail to your addresses is refused from then on. The username
  is not reserved for you.</p>
${problem(v.problem)}
<form method="post" action="/account/delete" class="card danger">
  ${hidden('csrf', v.csrf)}
  <label for="confirm">Type your username, <code>${v.user.username}</code>, to confirm</label>
  <input id="confirm" name="confirm" type="text" autocomplete="off" spellcheck="false"
    maxlength="63">
  <button type="submit" class="danger">Delete my account for good</button>
</form>
<p><a href="/account">Keep the account</a></p>`,
  });
}

export function deletedPage(): Html {
  return page({
    title: 'Account deleted',
    body: h`<h1>Account deleted</h1>
<p>The account, its waiting mail and its address settings are gone. Mail to its addresses is
  now refused.</p>
<p><a href="/">Start page</a></p>`,
  });
}
