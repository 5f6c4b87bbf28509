/**
 * mbsync's set-up (src/client-settings/mbsync.ts), run twice as shown: with `Sync PullNew` the
 * copy of the first message survives the second run, although the server deleted it in between.
 */
import { describeTwice } from './helpers/twice';

describeTwice('mbsync', {
  programs: ['mbsync'],
  keptIn: () => '~/Mail/kzymy/INBOX',
  decrypted: false,
});
