/**
 * Everything a web route needs, built once by startWebServer from the daemon's dependencies:
 * no route reads configuration or opens a connection of its own.
 */
import type { KzymyMetrics } from '../metrics/registry';
import type { Redis } from '../redis/connection';
import type { AuthLimiter } from '../auth/limiter';
import type { KzymyConfig } from '../config/schema';
import type { Logger } from '../log/logger';
import type { Store } from '../store/store';
import type { User } from '../store/types';
import type { FormTokens } from './csrf';
import type { Html } from './html';
import type { PendingCodes } from './pending';
import type { ProofOfWork } from './pow';
import type { Session, SessionStore } from './session';
import type { SignupLimit } from './signup-limit';
import type { StaticAssets } from './static';

export interface WebContext {
  config: Readonly<KzymyConfig>;
  store: Store;
  redis: Redis;
  logger: Logger;
  metrics: KzymyMetrics;
  clock: () => Date;
  forms: FormTokens;
  pow: ProofOfWork;
  signups: SignupLimit;
  pending: PendingCodes;
  sessions: SessionStore;
  /** Per-account login limiting, shared with IMAP and POP3: one lock whatever the protocol. */
  limiter: AuthLimiter;
  assets: StaticAssets;
  /** docs/signup.md rendered, or null if the file is missing. */
  signupDoc: Html | null;
  /** The session cookie's Secure flag. */
  secureCookie: boolean;
}

/** Hono's per-request variables: set by requireAccount on the account pages. */
export interface WebEnv {
  Variables: {
    user: User;
    session: Session;
  };
}
