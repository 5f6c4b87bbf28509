/**
 * offlineimap3's set-up (src/client-settings/offlineimap.ts), run twice as shown: with
 * `sync_deletes = no` the copy of the first message survives the server's deletion of it.
 */
import { describeTwice } from './helpers/twice';

describeTwice('offlineimap', {
  programs: ['offlineimap'],
  keptIn: () => '~/Mail/kzymy/INBOX',
  decrypted: false,
});
