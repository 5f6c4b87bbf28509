/**
 * The one configuration schema. Every object is `strict`, so an unknown key is an error that
 * names it; defaults here are the embedded single-machine setup (README.md, "Quick start").
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { limitsSchema } from './limits-schema';

export const STORE_ENGINES = ['sqlite', 'mongodb'] as const;

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
const positiveInt = z.number().int().positive();
// A DNS name per RFC 1035 §2.3.1 (letters, digits, hyphens; labels of 1-63; 253 in all).
const domainName = z
  .string()
  .max(253)
  .regex(
    /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/,
    'must be a lowercase DNS name such as kzymy.example',
  );

/** A DNS server as Node's resolver takes it: `ip`, `ipv4:port` or `[ipv6]:port`. */
const dnsServer = z.string().refine((value) => {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(value);
  const hostPort = /^([^:]+):(\d{1,5})$/.exec(value);
  const [host, portText] = bracketed
    ? [bracketed[1], bracketed[2]]
    : hostPort
      ? [hostPort[1], hostPort[2]]
      : [value, undefined];
  const portOk = portText === undefined || (Number(portText) > 0 && Number(portText) <= 65535);
  return isIP(host ?? '') !== 0 && portOk && !(bracketed && isIP(host ?? '') !== 6);
}, 'must be an IP address, optionally with a port (192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53)');

const tlsSchema = z
  .object({
    /** PEM files. Empty means: generate a self-signed pair under dataDir (development only). */
    key: z.string().default(''),
    cert: z.string().default(''),
  })
  .strict();

/** smtp:// (STARTTLS, required) or smtps:// (implicit TLS), with optional user:password@. */
const relayUrl = z
  .string()
  .refine(
    (value) =>
      value === '' ||
      /^smtps?:\/\/([^@/]+@)?(\[[0-9a-f:.]+\]|[^@/:[\]]+)(:\d{1,5})?\/?$/i.test(value),
    { message: 'must be smtp://[user:password@]host[:port] or smtps://…, or empty' },
  );

/**
 * Sending as the nym (docs/sending.md): a submission listener that sends only PGP/MIME messages
 * signed with the user's key on file, From her own subdomain, DKIM-signed, through a relay.
 */
const sendSchema = z
  .object({
    /** Off by default: kzymy receives only. Each user must turn sending on as well. */
    enabled: z.boolean().default(false),
    host: host.default('127.0.0.1'),
    /** RFC 6409 submission with STARTTLS. */
    port: port.default(1587),
    /** RFC 8314 submission over implicit TLS. */
    tlsPort: port.default(1465),
    /** Allow AUTH without TLS on a non-loopback listener. Loopback (onion) is always allowed. */
    allowPlaintextAuth: z.boolean().default(false),
    maxMessageBytes: positiveInt.default(10 * 1024 * 1024),
    /** Recipients of one message; more get 452 4.5.3 and the client sends the rest later. */
    maxRecipients: positiveInt.default(50),
    messagesPerHour: positiveInt.default(20),
    messagesPerDay: positiveInt.default(100),
    recipientsPerHour: positiveInt.default(100),
    recipientsPerDay: positiveInt.default(300),
    relay: z
      .object({
        /** The smarthost every message is handed to; kzymy never delivers to MX hosts itself. */
        url: relayUrl.default(''),
        /** PEM file of the CA(s) that sign the relay's certificate; empty: the system's CAs. */
        caFile: z.string().default(''),
      })
      .strict()
      .prefault({}),
    dkim: z
      .object({
        /** The key is published at <selector>._domainkey.<domain> (kzymy doctor --online checks). */
        selector: z
          .string()
          .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be one lowercase DNS label')
          .default('kzymy'),
        /** PEM private key: RSA (2048 bits or more) or Ed25519. */
        keyFile: z.string().default(''),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((send, issue) => {
    if (!send.enabled) return;
    if (!send.relay.url)
      issue.addIssue({
        code: 'custom',
        path: ['relay', 'url'],
        message: 'required when send.enabled',
      });
    if (!send.dkim.keyFile)
      issue.addIssue({
        code: 'custom',
        path: ['dkim', 'keyFile'],
        message: 'required when send.enabled',
      });
  });

export const configSchema = z
  .object({
    /** The mail domain: mail for anything@<username>.<domain> is accepted. */
    domain: domainName.default('kzymy.test'),
    /** Everything kzymy writes on this machine (embedded database, Redis, TLS pair, Haraka). */
    dataDir: z.string().min(1).default('./var'),
    log: z
      .object({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') })
      .strict()
      .prefault({}),
    store: z
      .object({
        /**
         * `sqlite`: one file under dataDir, for one machine (the default). `mongodb`: the
         * database at mongodb.url, for clusters (empty url: the embedded FerretDB). Unset: mongodb
         * when mongodb.url (MONGODB_URL) is set, else sqlite.
         */
        engine: z.enum(STORE_ENGINES).optional(),
        sqlite: z
          .object({
            /** How often the log is checkpointed and truncated and free pages reclaimed. */
            maintenanceSeconds: positiveInt.default(60),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    mongodb: z
      .object({
        /** Empty with store.engine mongodb: start the embedded FerretDB under dataDir. */
        url: z.string().default(''),
        database: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .default('kzymy'),
        /** Port of the embedded FerretDB; 0 picks a free one. */
        embeddedPort: port.default(27027),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        /** Empty: start a private redis-server under dataDir. */
        url: z.string().default(''),
        prefix: z.string().max(64).default('kzymy:'),
        embeddedPort: port.default(6389),
      })
      .strict()
      .prefault({}),
    tls: tlsSchema.prefault({}),
    smtp: z
      .object({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(2525),
        /** RFC 1870 SIZE: the largest message accepted, in bytes (default 25 MB). */
        maxMessageBytes: positiveInt.default(25 * 1024 * 1024),
        /**
         * Stored ciphertext per user (padding included); a recipient whose mailbox is full, or
         * would be with this message, gets 452 4.2.2 so the sender retries later.
         */
        quotaBytes: positiveInt.default(200 * 1024 * 1024),
        /**
         * RCPT commands accepted per transaction; more get 452 4.5.3. RFC 5321 §4.5.3.1.8: at
         * least 100 must be accepted, so that is also the least allowed here.
         */
        maxRecipients: z.number().int().min(100).default(100),
        /**
         * Distinct mailboxes per transaction (each costs one encryption and one stored copy);
         * recipients of a further mailbox get 452 4.5.3 and the sender sends them again.
         */
        maxUsersPerTransaction: positiveInt.default(100),
        /** SPF, DKIM, DMARC and ARC at arrival, recorded inside the payload (never refused on). */
        senderAuth: z
          .object({
            enabled: z.boolean().default(true),
            /** Resolvers for these lookups; empty uses the system's (/etc/resolv.conf). */
            dnsServers: z.array(dnsServer).default([]),
            /** All checks of one message; past it the verdicts are temperror. */
            timeoutMs: positiveInt.default(20_000),
            /** One DNS query (each is tried twice). */
            queryTimeoutMs: positiveInt.default(3_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    imap: z
      .object({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(1143),
        tlsPort: port.default(1993),
        /** Allow LOGIN without TLS on a non-loopback listener. Loopback (onion) is always allowed. */
        allowPlaintextAuth: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    pop3: z
      .object({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(1110),
        tlsPort: port.default(1995),
        allowPlaintextAuth: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    web: z
      .object({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(8080),
        /** Shown to users after activation; empty entries are left out. */
        onionAddress: z.string().default(''),
        clearnetAddress: z.string().default(''),
        /** Leading zero bits the signup proof of work needs. */
        /** Signup proof of work: ~0.5 s average in Chromium at 20 (docs/signup.md). */
        powBits: z.number().int().min(0).max(32).default(20),
        powTtlSeconds: positiveInt.default(900),
        /** At most this many signups per hour, for the whole server. */
        signupsPerHour: positiveInt.default(60),
        /**
         * HMAC key for proof-of-work challenges and form tokens (a file holding at least 32
         * random bytes). Empty: generated once under dataDir/web/. Several daemons behind one
         * address must share it.
         */
        secretFile: z.string().default(''),
        /** A logged-in session ends after this long without a request. */
        sessionIdleSeconds: positiveInt.default(1800),
        /** And after this long in any case. */
        sessionMaxSeconds: positiveInt.default(8 * 3600),
        /**
         * The session cookie's Secure flag. 'auto': set unless the listener is on loopback (an
         * onion service, or a test); use 'always' behind a TLS-terminating proxy on loopback.
         */
        secureCookie: z.enum(['auto', 'always', 'never']).default('auto'),
      })
      .strict()
      .prefault({}),
    send: sendSchema.prefault({}),
    retention: z
      .object({
        /** Unfetched messages are deleted after this long. */
        unfetchedSeconds: positiveInt.default(30 * 24 * 3600),
        /** Fetched but not committed (no LOGOUT/QUIT) messages are deleted after this long. */
        fetchedGraceSeconds: positiveInt.default(24 * 3600),
        /** Pending (not yet activated) accounts are deleted after this long. */
        pendingSeconds: positiveInt.default(3600),
        sweepIntervalSeconds: positiveInt.default(60),
      })
      .strict()
      .prefault({}),
    admin: z
      .object({
        /** The /healthz and /metrics listener (src/metrics/admin-server.ts). */
        enabled: z.boolean().default(true),
        /**
         * Keep on loopback. In a container, an address on an internal network that only the
         * scraper can reach; never a published port.
         */
        host: host.default('127.0.0.1'),
        port: port.default(9465),
      })
      .strict()
      .prefault({}),
    forward: z
      .object({
        /**
         * Push delivery (src/forward/): users may name a destination their mail is forwarded to,
         * still encrypted. Off by default; each user then opts in.
         */
        enabled: z.boolean().default(false),
        /**
         * Tor's SocksPort as socks5h://host:port: destinations are reached through it, names
         * resolved by Tor. Empty: connect directly (the destination sees this server's address).
         */
        proxy: z
          .string()
          .regex(
            /^(socks5h?:\/\/[^/\s]+:\d{1,5})?$/,
            'must be socks5h://host:port (Tor: socks5h://127.0.0.1:9050) or empty',
          )
          .default('socks5h://127.0.0.1:9050'),
        /** How long the code mailed to a new destination stays valid. */
        codeTtlSeconds: positiveInt.default(3600),
        /** Every daemon looks for mail to forward this often (besides on every new-mail event). */
        scanIntervalSeconds: positiveInt.default(60),
        /** After a 4xx or no connection, the next try waits this long, doubling up to the max. */
        retryMinSeconds: positiveInt.default(60),
        retryMaxSeconds: positiveInt.default(3600),
        /** One attempt, from connecting to the destination's reply to the data. */
        timeoutSeconds: positiveInt.default(120),
        /**
         * Without a proxy, destinations on loopback or private addresses are refused (a user must
         * not aim the server at its own network). Tests on loopback turn this on.
         */
        allowPrivateHosts: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        /**
         * A wrong password is answered this long after the attempt began. There is no lock:
         * src/auth/password-gate.ts.
         */
        failureDelayMs: positiveInt.default(1000),
      })
      .strict()
      .prefault({}),
    /** Connections, sessions, timeouts and command lengths per listener (limits-schema.ts). */
    limits: limitsSchema.prefault({}),
  })
  .strict()
  .superRefine((config, context) => {
    if (config.store.engine === 'sqlite' && config.mongodb.url) {
      context.addIssue({
        code: 'custom',
        path: ['store', 'engine'],
        message:
          'is sqlite, but mongodb.url (or MONGODB_URL) is set: choose one — store.engine: mongodb, or no mongodb.url',
      });
    }
  })
  // The engine, resolved: the rest of kzymy reads config.store.engine and never guesses.
  .transform((config) => ({
    ...config,
    store: {
      ...config.store,
      engine: config.store.engine ?? (config.mongodb.url ? 'mongodb' : 'sqlite'),
    },
  }));

export type KzymyConfig = z.output<typeof configSchema>;
export type StoreEngineName = (typeof STORE_ENGINES)[number];
