/** The signup pages: key upload, key review with the proof of work, activation. */
import type { KeyInfo } from '../../pgp/key-check';
import { h, join, nothing, type Html } from '../html';
import { solverCommands, type Challenge } from '../pow';
import { SERVER_LABELS } from '../../client-settings/servers';
import { clientSettings, type MailServer } from './client-settings';
import { copyable, hidden, notice, page, problem } from './layout';

export function fingerprintGroups(fingerprint: string): string {
  return fingerprint.toUpperCase().replace(/(.{4})(?!$)/g, '$1 ');
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export interface SignupFormView {
  csrf: string;
  problem?: string;
  /** False when this hour's signups are used up. */
  open: boolean;
  minutesToOpen: number;
}

export function signupPage(v: SignupFormView): Html {
  const closed = v.open
    ? nothing
    : notice(
        `This server has taken all the signups it accepts this hour. Try again in about ${v.minutesToOpen} minutes.`,
      );
  return page({
    title: 'Sign up',
    body: h`<h1>Sign up</h1>
<p>A kzymy mailbox is tied to an OpenPGP key: every message is encrypted to it before it is
  stored, and you prove that the key is yours by decrypting an activation code.
  <a href="/docs/signup">Read how signing up works</a> first if this is new to you.</p>
${closed}
${problem(v.problem)}
<form method="post" action="/signup/key" enctype="multipart/form-data" class="card">
  ${hidden('csrf', v.csrf)}
  <label for="key">Paste your <strong>public</strong> key
    (<code>gpg --armor --export YOUR-KEY-ID</code>)</label>
  <textarea id="key" name="key" rows="12" spellcheck="false" autocomplete="off"
    placeholder="-----BEGIN PGP PUBLIC KEY BLOCK-----"></textarea>
  <label for="keyfile">or choose the exported key file (armored or binary)</label>
  <input id="keyfile" name="keyfile" type="file">
  <p class="hint">Never paste a private key here, or anywhere else.</p>
  <button type="submit">Check the key</button>
</form>`,
  });
}

export interface ReviewView {
  key: KeyInfo;
  csrf: string;
  challenge: Challenge;
  problem?: string;
}

/** The checked key, what the server can see of it, and the proof of work. */
export function reviewPage(v: ReviewView): Html {
  const { key } = v;
  const commands = solverCommands(v.challenge);
  const userIds = key.userIds.length
    ? join(key.userIds.map((id) => h`<li><code>${id}</code></li>`))
    : h`<li><em>none</em></li>`;
  const warnings = join(key.warnings.map((w) => h`<p class="warning">${w}</p>`));
  return page({
    title: 'Check your key',
    scripts: ['pow.js', 'copy.js'],
    body: h`<h1>Your key</h1>
${problem(v.problem)}
<dl class="facts">
  <dt>Fingerprint</dt><dd><code>${fingerprintGroups(key.fingerprint)}</code></dd>
  <dt>Algorithm</dt><dd>${key.algorithm}</dd>
  <dt>Created</dt><dd>${day(key.createdAt)}</dd>
  <dt>Expires</dt><dd>${key.expiresAt ? day(key.expiresAt) : 'never'}</dd>
</dl>
<h2>User IDs in this key</h2>
<ul class="userids">${userIds}</ul>
<p class="hint">The server stores this key, so it can read these user IDs. A name or email
  address in them ties the mailbox to that identity: for a pseudonymous mailbox, use a key made
  for it whose user ID says nothing about you (for example just "nym"). Accounts that share a
  key are linked by it, so make a key for each mailbox.</p>
${warnings}
<h2>Proof of work</h2>
<form method="post" action="/signup/create" class="card"
  data-pow-challenge="${v.challenge.challenge}" data-pow-bits="${v.challenge.bits}">
  ${hidden('csrf', v.csrf)}
  ${hidden('key', key.armored)}
  ${hidden('challenge', v.challenge.challenge)}
  <p id="pow-status">To keep signups from being automated, your computer spends about a second
    on a small puzzle (some seconds in Tor Browser at its "Safer" level). With JavaScript on, this page solves it by itself; otherwise run one of
    these commands and paste the line it prints. The puzzle is valid until
    ${v.challenge.expiresAt.toISOString().slice(11, 16)} UTC.</p>
  <details id="pow-manual" open>
    <summary>Solve it with a command</summary>
    <p>With Python 3:</p>
    ${copyable(commands.python, 'pow-command')}
    <p>or with Debian's <code>hashcash</code> package (paste the whole stamp):</p>
    ${copyable(commands.hashcash, 'pow-hashcash')}
  </details>
  <label for="pow">Solution</label>
  <input id="pow" name="pow" type="text" autocomplete="off" spellcheck="false" maxlength="200">
  <button type="submit">Create my account</button>
</form>`,
  });
}

export interface PendingView {
  username: string;
  message: string;
  csrf: string;
  minutes: number;
}

/** The activation message, how to decrypt it, and where to type the code. */
export function pendingPage(v: PendingView): Html {
  return page({
    title: 'Activate your account',
    scripts: ['copy.js'],
    body: h`<h1>Decrypt your activation message</h1>
<p>Your username is <strong><code>${v.username}</code></strong>. The account waits
  ${v.minutes} minutes for its activation code; after that it is deleted and mail to it is
  refused.</p>
<p>This message is encrypted to your key. It holds the activation code and your account
  password:</p>
${copyable(v.message, 'activation-message')}
<ol>
  <li>Copy the whole block, from <code>-----BEGIN PGP MESSAGE-----</code> to
    <code>-----END PGP MESSAGE-----</code>, into a file <code>activation.asc</code>.</li>
  <li>Run <code>gpg --decrypt activation.asc</code> (or run <code>gpg --decrypt</code>, paste the
    block and press Ctrl-D).</li>
  <li>Keep the password somewhere safe: it is shown nowhere else.</li>
  <li>Type the activation code here:</li>
</ol>
${activateForm({ csrf: v.csrf, username: v.username })}`,
  });
}

export function activateForm(v: { csrf: string; username?: string }): Html {
  return h`<form method="post" action="/activate" class="card">
  ${hidden('csrf', v.csrf)}
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" spellcheck="false"
    maxlength="63" value="${v.username ?? ''}">
  <label for="code">Activation code</label>
  <input id="code" name="code" type="text" autocomplete="off" spellcheck="false" maxlength="64">
  <button type="submit">Activate</button>
</form>`;
}

export function activatePage(v: { csrf: string; username?: string; problem?: string }): Html {
  return page({
    title: 'Activate',
    body: h`<h1>Activate your account</h1>
<p>Enter the username and the activation code from the message you decrypted.</p>
${problem(v.problem)}
${activateForm(v)}`,
  });
}

/**
 * Shown only to whoever proved they hold the key (activation) or logged in: other accounts on
 * this server with the same key. The server links them by their stored fingerprint already;
 * this tells the user. A stranger who uploads someone's public key never sees it.
 */
export function sharedKeyWarning(others: number): Html {
  if (others <= 0) return nothing;
  return h`<p class="warning">Your key is also the key of ${others} other
    account${others === 1 ? '' : 's'} on this server. The server stores each account's key
    fingerprint, so it (and anyone who takes its database) can see that these accounts belong
    together. For mailboxes that must not be linked, use a key made for each.</p>`;
}

export function activatedPage(v: {
  username: string;
  mailDomain: string;
  servers: MailServer[];
  /** Other accounts with the same key. */
  sharedKey: number;
}): Html {
  return page({
    title: 'Your mailbox is ready',
    scripts: ['copy.js'],
    body: h`<h1>Your mailbox is ready</h1>
<p>Mail to <strong>any address</strong> <code>…@${v.mailDomain}</code> now reaches you,
  encrypted to your key. Give each correspondent its own address (for example
  <code>shop@${v.mailDomain}</code>); if one leaks, disable it on your
  <a href="/login">account page</a>.</p>
<dl class="facts">
  <dt>Mail domain</dt><dd><code>${v.mailDomain}</code></dd>
  <dt>Username</dt><dd><code>${v.username}</code></dd>
  ${join(v.servers.map((s) => h`<dt>${SERVER_LABELS[s.via]}</dt><dd><code>${s.host}</code></dd>`))}
</dl>
${sharedKeyWarning(v.sharedKey)}
<h2>Fetching your mail</h2>
${join(v.servers.map((s) => clientSettings(v.username, s)))}
<p><a href="/login">Log in</a> to manage addresses, change the password or the key.</p>`,
  });
}
