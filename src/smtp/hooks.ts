/**
 * The handlers behind kzymy's Haraka hooks. Each takes the hook's object and params and returns
 * a Decision (or undefined: no opinion); hook-adapter.ts turns that into next(). The wiring is in
 * haraka-plugins/kzymy.ts.
 */
import type {
  HarakaAddress,
  HarakaConnection,
  HarakaLogItem,
  HarakaTransaction,
} from './haraka/api';
import { formatAuthenticationResults } from './auth-results';
import { captureOf } from './haraka/data-patch';
import { accept, lineTooLong, reject, REPLIES, tempfail, tooBig, type Decision } from './decision';
import { deliverMessage, type Envelope } from './deliver';
import { sanitizeHarakaLine } from './haraka/log';
import type { HookContext } from './haraka/hook-adapter';
import { checkRecipient } from './rcpt-policy';
import type { SmtpRuntime } from './haraka/runtime';
import type { User } from '../store/types';

type Ctx<P> = HookContext<HarakaConnection, P>;
type MailParams = [HarakaAddress, Record<string, string | null>];
type RcptParams = [HarakaAddress, Record<string, string | null>];

/** Transactions whose message was stored: the queue hook says 250 for these and no others. */
const delivered = new WeakSet<HarakaTransaction>();
/**
 * The mailbox behind each accepted recipient, keyed by the address object Haraka passed to the
 * rcpt hook — the same object it keeps in transaction.rcpt_to (connection.js cmd_rcpt). Held in
 * memory for the transaction only; gone with it.
 */
const mailboxes = new WeakMap<HarakaAddress, User>();
/** RFC 1870: the size a client declared at MAIL FROM, for the quota check at RCPT. */
const declaredSizes = new WeakMap<HarakaTransaction, number>();

export function createHandlers(runtime: SmtpRuntime) {
  const { config, maxLineBytes } = runtime.settings;
  const maxBytes = config.smtp.maxMessageBytes;
  const { maxRecipients, maxUsersPerTransaction } = config.smtp;
  const senderCheck = runtime.senderCheck;
  /** The Authentication-Results value for a message: the checks, formatted; never throws. */
  const authenticate = senderCheck
    ? async (raw: readonly Buffer[], envelope: Envelope): Promise<string> =>
        formatAuthenticationResults(
          config.domain,
          await senderCheck(raw, {
            ip: envelope.client?.ip,
            helo: envelope.client?.helo,
            mailFrom: envelope.from,
          }),
        )
    : undefined;

  return {
    /**
     * No reverse DNS of clients (docs/architecture.md, invariant "Nothing that locates a user"): OK makes Haraka skip its dns.reverse() and record
     * the host as "Unknown" (connection.js lookup_rdns_respond).
     */
    lookupRdns(): Decision {
      return accept();
    },

    /** RFC 1870 §4: advertise the real limit. Haraka's own limit is off (max.bytes=0, "SIZE 0"). */
    capabilities({ object: connection }: Ctx<unknown>): undefined {
      const capabilities = connection.capabilities;
      if (!capabilities) return undefined;
      const index = capabilities.findIndex((line) => /^SIZE(\s|$)/i.test(line));
      const size = `SIZE ${maxBytes}`;
      if (index >= 0) capabilities[index] = size;
      else capabilities.push(size);
      return undefined;
    },

    /** RFC 1870 §6.1: a declared SIZE above the limit is refused at MAIL, with 552. */
    mail({ object: connection, params }: Ctx<MailParams>): Decision | undefined {
      const declared = params[1]?.SIZE;
      if (declared === undefined || declared === null) return undefined;
      const bytes = Number(declared);
      if (bytes > maxBytes) return runtime.count(reject(tooBig(maxBytes), 'size'));
      if (connection.transaction && Number.isSafeInteger(bytes) && bytes >= 0)
        declaredSizes.set(connection.transaction, bytes);
      return undefined;
    },

    async rcpt({ object: connection, params }: Ctx<RcptParams>): Promise<Decision> {
      const transaction = connection.transaction;
      // Haraka has already appended this recipient to rcpt_to (connection.js cmd_rcpt).
      const accepted = (transaction?.rcpt_to ?? []).filter((rcpt) => rcpt !== params[0]);
      // RFC 5321 §4.5.3.1.10: past the limit, 452 for each further RCPT; those accepted stay.
      if (accepted.length >= maxRecipients)
        return runtime.count(tempfail(REPLIES.tooManyRecipients, undefined, 'too_many_recipients'));
      const deps = await runtime.deps();
      const { decision, user } = await checkRecipient(
        {
          users: deps.store.users,
          messages: deps.store.messages,
          domain: config.domain,
          quotaBytes: config.smtp.quotaBytes,
          declaredBytes: transaction ? declaredSizes.get(transaction) : undefined,
        },
        canonicalAddress(params[0]),
      );
      if (!user) return runtime.count(decision);
      // Each mailbox costs one encryption and one stored copy; her further aliases cost nothing.
      const users = new Set(accepted.map((rcpt) => mailboxes.get(rcpt)?.id));
      users.delete(undefined);
      if (!users.has(user.id) && users.size >= maxUsersPerTransaction)
        return runtime.count(tempfail(REPLIES.tooManyRecipients, undefined, 'too_many_recipients'));
      mailboxes.set(params[0], user);
      return runtime.count(decision);
    },

    /**
     * End of DATA. The work is done here rather than in `queue` because Haraka's queue_respond
     * flattens a DSN to text and always answers 450 to DENYSOFT, while data_post_respond honours
     * the DSN's code (451 4.3.0, 552 5.3.4). The queue hook then only confirms.
     */
    async dataPost({ object: connection, signal }: Ctx<unknown>): Promise<Decision> {
      const transaction = connection.transaction;
      const capture = transaction ? captureOf(transaction) : undefined;
      // No capture means Haraka took the data some other way: never store what kzymy did not see.
      if (!transaction || !capture) return runtime.count(tempfail(REPLIES.localError));
      const stopTimer = runtime.metrics.startDeliveryTimer();
      try {
        if (capture.oversize) return runtime.count(reject(tooBig(maxBytes), 'size'));
        if (transaction.notes.data_line_length_exceeded === true)
          return runtime.count(reject(lineTooLong(maxLineBytes), 'size'));
        const deps = await runtime.deps();
        const decision = await deliverMessage(
          {
            users: deps.store.users,
            messages: deps.store.messages,
            publisher: deps.publisher,
            domain: config.domain,
            quotaBytes: config.smtp.quotaBytes,
            authenticate,
            logger: runtime.logger,
          },
          capture.pieces(),
          {
            id: transaction.uuid,
            from: transaction.mail_from?.address ?? '',
            recipients: transaction.rcpt_to.map((rcpt) => ({
              address: rcpt.address,
              canonical: canonicalAddress(rcpt),
              user: mailboxes.get(rcpt),
            })),
            arrival: runtime.clock(),
            // For SPF, in memory only (sender-auth.ts).
            client: {
              ip: connection.remote.ip ?? undefined,
              helo: connection.hello?.host ?? undefined,
            },
          },
          signal,
        );
        if (decision.kind === 'accept') {
          delivered.add(transaction);
          stopTimer();
          for (let i = 0; i < transaction.rcpt_to.length; i++) runtime.metrics.messageAccepted();
        }
        return runtime.count(decision);
      } finally {
        capture.clear();
      }
    },

    queue({ object: connection }: Ctx<unknown>): Decision {
      const transaction = connection.transaction;
      if (transaction && delivered.has(transaction)) return accept(REPLIES.messageStored);
      return tempfail(REPLIES.localError);
    },

    /** Reached only if something marked the connection as relaying; kzymy never relays. */
    queueOutbound(): Decision {
      return reject(REPLIES.relayDenied);
    },

    /** Haraka's log lines, reduced to what is safe (haraka-log.ts); OK stops Haraka printing them. */
    log({ params: item }: HookContext<unknown, HarakaLogItem>): Decision {
      const { level, fields } = sanitizeHarakaLine(String(item?.level), String(item?.data));
      runtime.logger[level]('smtp.haraka', fields);
      return accept();
    },
  };
}

/** `user@host` with the host as Haraka normalised it (lowercase A-label). */
function canonicalAddress(address: HarakaAddress): string {
  return address.host ? `${address.user ?? ''}@${address.host}` : (address.user ?? '');
}
