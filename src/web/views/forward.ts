/** The forwarding page (/account/forward) and its card on the account page. No script needed. */
import { formatReply } from '../../forward/outcome';
import type { ForwardStatus } from '../../forward/service';
import type { ForwardSetting, User } from '../../store/types';
import { h, nothing, type Html } from '../html';
import { hidden, notice, page, problem } from './layout';

export interface ForwardView {
  user: User;
  csrf: string;
  status: ForwardStatus;
  notice?: string;
  problem?: string;
}

/** "2026-03-01 12:00 UTC": the page shows times in UTC, as the server keeps them. */
function utc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function destination(setting: ForwardSetting): Html {
  return setting.host
    ? h`<code>${setting.address}</code> (through <code>${setting.host}</code>)`
    : h`<code>${setting.address}</code>`;
}

/** What a destination refused, as the account page and the forwarding page show it. */
function refusal(status: ForwardStatus): Html {
  const failure = status.setting?.failure;
  if (!failure && status.refused === 0) return nothing;
  return h`<p class="warning">${
    failure
      ? h`The destination refused a message on ${utc(failure.at)} (<code>${formatReply(failure)}</code>). `
      : nothing
  }${status.refused} message${status.refused === 1 ? ' is' : 's are'} kept here for pickup
  instead; fetch ${status.refused === 1 ? 'it' : 'them'} as usual, or try the destination again.</p>`;
}

/** The card on the account page. */
export function forwardCard(status: ForwardStatus): Html {
  const setting = status.setting;
  const state = !setting
    ? h`<p>Off: your mail waits here until a client fetches it.</p>`
    : setting.state === 'pending'
      ? h`<p>Waiting for the code mailed to ${destination(setting)}.</p>`
      : h`<p>On: each message goes to ${destination(setting)} and is deleted here once that
  server has accepted it.</p>`;
  return h`<section class="card">
<h2>Forwarding</h2>
${state}
${refusal(status)}
<p><a href="/account/forward">${setting ? 'Manage forwarding' : 'Set up forwarding'}</a></p>
</section>`;
}

function proposeForm(v: ForwardView, label: string): Html {
  return h`<form method="post" action="/account/forward" class="card">
  ${hidden('csrf', v.csrf)}
  <label for="forward-address">Forward to</label>
  <input id="forward-address" name="address" type="text" spellcheck="false" autocomplete="off"
    maxlength="254" placeholder="you@example.org">
  <label for="forward-host">MX host (optional: an onion mail server, host or host:port)</label>
  <input id="forward-host" name="host" type="text" spellcheck="false" autocomplete="off"
    maxlength="260" placeholder="…56 characters….onion">
  <button type="submit">${label}</button>
</form>`;
}

function postButton(v: ForwardView, action: string, label: string, kind = ''): Html {
  return h`<form method="post" action="${action}" class="inline">
  ${hidden('csrf', v.csrf)}
  <button type="submit" ${kind ? h`class="${kind}"` : nothing}>${label}</button>
</form>`;
}

export function forwardPage(v: ForwardView): Html {
  const setting = v.status.setting;
  let body: Html;
  if (!setting) {
    body = h`<p>kzymy can send each message, as it is stored here — encrypted to your key — to a
  mail address of yours, and delete it here once that mail server has accepted it. The
  connection goes through Tor. The address is kept on this server while forwarding is on.</p>
<p>To prove the address is yours, kzymy mails a code there, encrypted to your key; nothing is
  forwarded until you type it back here.</p>
${proposeForm(v, 'Mail me a code')}`;
  } else if (setting.state === 'pending') {
    body = h`<p>A code was mailed to ${destination(setting)}, encrypted to your key${
      setting.codeExpiresAt ? h`; it is valid until ${utc(setting.codeExpiresAt)}` : nothing
    }. Decrypt that message (<code>gpg --decrypt</code>) and type the code here.</p>
<form method="post" action="/account/forward/confirm" class="card">
  ${hidden('csrf', v.csrf)}
  <label for="forward-code">Forwarding code</label>
  <input id="forward-code" name="code" type="text" autocomplete="off" spellcheck="false"
    maxlength="64">
  <button type="submit">Start forwarding</button>
</form>
<h2>Another destination</h2>
${proposeForm(v, 'Mail a new code')}
<p>${postButton(v, '/account/forward/stop', 'Cancel')}</p>`;
  } else {
    body = h`<p>Each message goes to ${destination(setting)} and is deleted here once that
  server has answered 250. If it asks to try later, kzymy tries again until the message's
  retention ends; if it refuses a message, the message stays here for pickup.</p>
${refusal(v.status)}
${v.status.refused > 0 ? h`<p>${postButton(v, '/account/forward/retry', 'Try the kept messages again')}</p>` : nothing}
<p>${postButton(v, '/account/forward/stop', 'Stop forwarding', 'danger')}</p>
<h2>Another destination</h2>
<p>Forwarding pauses until the new destination's code comes back.</p>
${proposeForm(v, 'Mail a code to the new destination')}`;
  }
  return page({
    title: 'Forwarding',
    account: { username: v.user.username, csrf: v.csrf },
    body: h`<h1>Forwarding</h1>
${notice(v.notice)}
${problem(v.problem)}
${body}
<p><a href="/account">Back to the account</a></p>`,
  });
}
