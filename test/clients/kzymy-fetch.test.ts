/** kzymy-fetch's set-up (src/client-settings/kzymy-fetch.ts), IMAP and POP3, run twice as shown. */
import { describeTwice } from './helpers/twice';

describeTwice('kzymy-fetch', {
  programs: [],
  keptIn: () => '~/Maildir',
  decrypted: true,
});
