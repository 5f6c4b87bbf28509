/**
 * The `limits` section: how much of the machine each listener may take (docs/threat-model.md,
 * "Denial of service"; src/connection-limits/gate.ts). Defaults fit one machine with the usual
 * 1024 open files per process: the daemon's four mailbox listeners and the web together hold at
 * most 800 connections.
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();

function mailboxLimits(defaults: {
  maxConnections: number;
  maxSessionsPerUser: number;
  idleMinSeconds: number;
  idleSeconds: number;
  maxCommandBytes: number;
}) {
  return z
    .object({
      /** Connections held at once on each of the protocol's two listeners (plain and TLS). */
      maxConnections: positiveInt.default(defaults.maxConnections),
      /** Logged-in sessions per user, both listeners together, in each daemon. */
      maxSessionsPerUser: positiveInt.default(defaults.maxSessionsPerUser),
      /** A connection that has not logged in after this long is closed. */
      loginTimeoutSeconds: positiveInt.default(60),
      /** A logged-in session silent this long is closed (the RFC's minimum is the floor). */
      idleTimeoutSeconds: z
        .number()
        .int()
        .min(defaults.idleMinSeconds)
        .default(defaults.idleSeconds),
      /** The longest command line read; longer ones are answered with an error, never echoed. */
      maxCommandBytes: z.number().int().min(1024).default(defaults.maxCommandBytes),
    })
    .strict()
    .prefault({});
}

export const limitsSchema = z
  .object({
    smtp: z
      .object({
        /** Connections Haraka holds at once; when full, the oldest idle one makes room. */
        maxConnections: positiveInt.default(500),
        /**
         * Connections from one sending host (IP address) at once, counted in the SMTP process's
         * memory only and never stored; 0 turns it off (e.g. behind a relay on one address).
         */
        maxConnectionsPerHost: z.number().int().min(0).default(20),
      })
      .strict()
      .prefault({}),
    // RFC 3501 §5.4: an autologout timer of at least 30 minutes; RFC 7162 §4: command lines of
    // 8192 octets and more must be expected.
    imap: mailboxLimits({
      maxConnections: 200,
      maxSessionsPerUser: 10,
      idleMinSeconds: 1800,
      idleSeconds: 1800,
      maxCommandBytes: 65536,
    }),
    // RFC 1939 §3: an autologout timer of at least 10 minutes. RFC 2449 §4 keeps command lines
    // to 255 octets; a SASL PLAIN response may be longer (RFC 5034 §4).
    pop3: mailboxLimits({
      maxConnections: 100,
      maxSessionsPerUser: 3,
      idleMinSeconds: 600,
      idleSeconds: 600,
      maxCommandBytes: 4096,
    }),
    web: z
      .object({
        maxConnections: positiveInt.default(200),
        /** A request must arrive whole within this long (Node's headers and request timeouts). */
        requestTimeoutSeconds: positiveInt.default(30),
      })
      .strict()
      .prefault({}),
  })
  .strict();
