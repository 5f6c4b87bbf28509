/** fetchmail's set-up (src/client-settings/fetchmail.ts), IMAP and POP3, run twice as shown. */
import { describeTwice } from './helpers/twice';

describeTwice('fetchmail', {
  programs: ['fetchmail', 'procmail', 'nc'],
  keptIn: () => '~/Maildir',
  decrypted: true,
});
