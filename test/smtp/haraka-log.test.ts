/**
 * The Haraka log filter, fed lines in the shapes Haraka 3.3.4's logger.js produces with
 * log.ini format=json (and the default format used before log.ini is read).
 */
import { expect } from 'chai';
import { sanitizeHarakaLine } from '../../src/smtp/haraka/log';

const UUID = '2E710E86-DAA5-4DF2-8E99-A7B91F4E64C0';

function json(fields: Record<string, unknown>): string {
  return JSON.stringify({ level: 'NOTICE', uuid: UUID, origin: 'core', ...fields });
}

describe('smtp: Haraka log filter', () => {
  it('drops the text of every line that can carry client data', () => {
    const leaky = [
      // connection.js setupClient, at NOTICE
      json({ message: 'connect', ip: '203.0.113.7', port: 51234, local_ip: '127.0.0.1' }),
      // connection.js mail_respond / rcpt_respond, at NOTICE
      json({ message: 'sender <alice@example.org>', code: 'CONT' }),
      json({ message: 'recipient <x@user.kzymy.test>', sender: 'alice@example.org' }),
      // haraka-email-message header.js, at NOTICE
      json({ message: 'Header did not look right: Subject: secret plans' }),
      // connection.js data_post_respond, at NOTICE
      json({ message: 'message', mid: '<id@example.org>', size: 10 }),
      // connection.js fail() on timeout, at WARN (the IP travels in the message text)
      json({ level: 'WARN', message: 'client connection timed out ip=203.0.113.7' }),
      // plugins.js, at CRIT: an exception can quote anything
      json({ level: 'CRIT', message: 'Plugin x failed: TypeError: bad input "secret"' }),
      // protocol and data lines
      json({ level: 'PROTOCOL', message: 'C: RCPT TO:<x@user.kzymy.test>' }),
      json({ level: 'DATA', message: 'C: Subject: secret plans' }),
      // not JSON at all
      'Caught exception: Error: secret plans at 203.0.113.7',
    ];
    for (const line of leaky) {
      const level = (/"level":"([A-Z]+)"/.exec(line) ?? [])[1] ?? 'CRIT';
      const { fields } = sanitizeHarakaLine(level, line);
      const out = JSON.stringify(fields);
      expect(fields.redacted, line).to.equal(true);
      for (const secret of ['203.0.113.7', 'example.org', 'kzymy.test', 'secret', '<id@'])
        expect(out, line).not.to.include(secret);
    }
  });

  it('keeps fixed server messages, the origin and the connection id', () => {
    const { level, fields } = sanitizeHarakaLine(
      'NOTICE',
      json({ origin: 'server', message: 'Listening on 127.0.0.1:2525' }),
    );
    expect(level).to.equal('info');
    expect(fields).to.deep.equal({
      harakaLevel: 'NOTICE',
      origin: 'server',
      conn: UUID,
      message: 'Listening on 127.0.0.1:2525',
    });
  });

  it('reads the default format too', () => {
    const { fields } = sanitizeHarakaLine('INFO', '[INFO] [-] [core] loading kzymy');
    expect(fields).to.deep.equal({ harakaLevel: 'INFO', origin: 'core', message: 'loading kzymy' });
  });

  it('maps levels and never trusts an odd one', () => {
    expect(sanitizeHarakaLine('CRIT', json({ message: 'x' })).level).to.equal('error');
    expect(sanitizeHarakaLine('DATA', json({ message: 'x' })).level).to.equal('debug');
    const odd = sanitizeHarakaLine('"><script>', json({ message: 'x' }));
    expect(odd.fields.harakaLevel).to.equal('UNKNOWN');
    expect(odd.level).to.equal('warn');
  });
});
