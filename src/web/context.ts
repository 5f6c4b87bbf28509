/**
 * Everything a web route needs, built once by startWebServer from the daemon's dependencies:
 * no route reads configuration or opens a connection of its own.
 */
import type { KzymyMetrics } from '../metrics/registry';
import type { Redis } from '../redis/connection';
import type { PasswordGate } from '../auth/password-gate';
import type { KzymyConfig } from '../config/schema';
import type { ForwardService } from '../forward/service';
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
  /** The password gate shared with IMAP and POP3 (no lock-out; src/auth/password-gate). */
  passwords: PasswordGate;
  assets: StaticAssets;
  /** docs/signup.md rendered, or null if the file is missing. */
  signupDoc: Html | null;
  /** The session cookie's Secure flag. */
  secureCookie: boolean;
  /** Push delivery's account side; null unless the operator enabled `forward`. */
  forward: ForwardService | null;
}

/** Hono's per-request variables: set by requireAccount on the account pages. */
export interface WebEnv {
  Variables: {
    user: User;
    session: Session;
  };
}
