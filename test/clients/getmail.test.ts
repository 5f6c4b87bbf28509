/** getmail6's set-up (src/client-settings/getmail.ts), IMAP and POP3, run twice as shown. */
import { describeTwice } from './helpers/twice';

describeTwice('getmail', {
  programs: ['getmail', 'procmail'],
  keptIn: () => '~/Maildir',
  decrypted: true,
});
