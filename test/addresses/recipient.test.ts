import { expect } from 'chai';
import { parseRecipient, policyAccepts } from '../../src/addresses/recipient';
import { randomUsername } from '../../src/addresses/username';

describe('address: recipients', () => {
  it('splits local@<username>.<domain>, case-insensitively', () => {
    expect(parseRecipient('Shop@AbcDefGhijk.KZYMY.test', 'kzymy.test')).to.deep.equal({
      username: 'abcdefghijk',
      local: 'shop',
    });
  });

  it('refuses other domains, the bare domain and deeper names', () => {
    for (const address of [
      'x@abc.example.org',
      'x@kzymy.test',
      'x@a.b.kzymy.test',
      'x@abckzymy.test',
      'x@-abc.kzymy.test',
      'no-at-sign',
      '@abc.kzymy.test',
    ]) {
      expect(parseRecipient(address, 'kzymy.test'), address).to.equal(null);
    }
  });

  it('applies disabled, then allowed, then the catch-all', () => {
    const policy = { catchAll: true, allowed: ['kept'], disabled: ['leaked'] };
    expect(policyAccepts(policy, 'anything')).to.equal(true);
    expect(policyAccepts(policy, 'LEAKED')).to.equal(false);
    const closed = { ...policy, catchAll: false };
    expect(policyAccepts(closed, 'anything')).to.equal(false);
    expect(policyAccepts(closed, 'kept')).to.equal(true);
  });

  it('round-trips generated usernames', () => {
    for (let i = 0; i < 200; i++) {
      const name = randomUsername();
      expect(parseRecipient(`a@${name}.kzymy.test`, 'kzymy.test')?.username).to.equal(name);
    }
  });
});
