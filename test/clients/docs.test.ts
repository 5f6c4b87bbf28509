/**
 * One source for every client set-up: docs/clients/ holds exactly what src/client-settings makes
 * for the example server, and the activation and account pages show exactly what it makes for
 * theirs — the text the other tests in this folder run with the real clients.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENTS } from '../../src/client-settings';
import { checkClientDocs } from '../../src/client-settings/docs-blocks';
import type { MailServer } from '../../src/client-settings/servers';
import { CLIENT_IDS, passwordFileCommands } from '../../src/client-settings/setup';
import { projectRoot } from '../../src/util/project-root';
import { clientSettings } from '../../src/web/views/client-settings';
import { unescapeHtml } from '../web/helpers/http';

describe('client set-ups come from one source', function () {
  it('docs/clients/ holds exactly the generated blocks (node dist/src/client-settings/write-docs.js rewrites them)', function () {
    expect(checkClientDocs(join(projectRoot(), 'docs'))).to.deep.equal([]);
  });

  const servers: MailServer[] = [
    {
      host: 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz2345.onion',
      via: 'onion',
      imapPort: 143,
      pop3Port: 110,
    },
    { host: 'mail.example.org', via: 'clearnet', imapPort: 993, pop3Port: 995 },
    { host: '127.0.0.1', via: 'direct', imapPort: 1143, pop3Port: 1110 },
  ];
  for (const server of servers) {
    it(`the pages show every set-up, as generated, for a ${server.via} server`, function () {
      const page = unescapeHtml(String(clientSettings('k3xampleuser', server)));
      expect(page).to.include(passwordFileCommands().join('\n'));
      for (const id of CLIENT_IDS) {
        for (const protocol of CLIENTS[id].protocols) {
          const setup = CLIENTS[id].make({ server, username: 'k3xampleuser', protocol });
          for (const file of setup.files) expect(page, `${id} ${file.path}`).to.include(file.text);
          if (setup.prepare.length > 0) expect(page).to.include(setup.prepare.join('\n'));
          expect(page, `${id} ${protocol}`).to.include(setup.run);
        }
      }
    });
  }

  it('the pages give Thunderbird the advice of its guide: POP3, or IMAP with a filter to Local Folders', function () {
    const guide = readFileSync(join(projectRoot(), 'docs', 'clients', 'thunderbird.md'), 'utf8');
    const page = unescapeHtml(String(clientSettings('k3xampleuser', servers[0]!)));
    // As words: without Markdown emphasis or HTML tags.
    for (const text of [guide, page]) {
      const words = text.replace(/<[^>]+>|\*\*/g, '').replace(/\s+/g, ' ');
      expect(words).to.match(/Use POP3/);
      expect(words).to.match(/filter .*Local Folders/);
      expect(words).to.match(/untick Leave messages on server/);
    }
  });
});
