/**
 * The connection gate's rules on their own (src/connection-limits/gate.ts): who is pushed out
 * when a listener is full, who is refused, the login deadline and the per-user cap. The
 * listeners' own tests (test/imap/limits.test.ts, test/pop3/limits.test.ts, ...) drive the same
 * gate with real sockets and real clients.
 */
import { expect } from 'chai';
import {
  ConnectionGate,
  UserSessions,
  type CloseReason,
  type GateEvent,
  type Ticket,
} from '../../src/connection-limits/gate';

function gate(options: { max: number; loginTimeoutMs?: number; perUser?: number }) {
  const events: GateEvent[] = [];
  const closed: Array<[string, CloseReason]> = [];
  const users = options.perUser ? new UserSessions(options.perUser) : undefined;
  const g = new ConnectionGate({
    maxConnections: options.max,
    loginTimeoutMs: options.loginTimeoutMs ?? 0,
    users,
    onEvent: (event) => events.push(event),
  });
  const admit = (name: string): Ticket | null => g.admit((reason) => closed.push([name, reason]));
  return { g, events, closed, admit, users };
}

describe('connection limits: the gate', () => {
  it('makes room by closing the least recently active connection that has not logged in', () => {
    const { g, closed, admit, events } = gate({ max: 3 });
    const a = admit('a') as Ticket;
    admit('b');
    admit('c');
    a.touch(); // a spoke last: b is now the least recently active
    expect(admit('d')).to.not.equal(null);
    expect(closed).to.deep.equal([['b', 'evicted']]);
    expect(admit('e')).to.not.equal(null);
    expect(closed.map(([name]) => name)).to.deep.equal(['b', 'c']);
    expect(g.size).to.equal(3);
    expect(events).to.deep.equal(['evicted', 'evicted']);
  });

  it('never pushes out a logged-in session, and refuses a newcomer when every slot is one', () => {
    const { g, closed, admit, events } = gate({ max: 2 });
    (admit('a') as Ticket).login('u1');
    (admit('b') as Ticket).login('u2');
    expect(admit('c')).to.equal(null);
    expect(closed).to.deep.equal([]);
    expect(events).to.deep.equal(['refused']);
    expect(g.size).to.equal(2);
  });

  it('frees the slot when the connection closes, once however often it is released', () => {
    const { g, admit } = gate({ max: 2 });
    const a = admit('a') as Ticket;
    a.login('u1');
    a.release();
    a.release();
    expect(g.size).to.equal(0);
    expect(admit('b')).to.not.equal(null);
  });

  it('closes a connection that has not logged in within the login timeout, and only that one', async () => {
    const { closed, admit, events } = gate({ max: 5, loginTimeoutMs: 50 });
    admit('slow');
    (admit('quick') as Ticket).login('u1');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(closed).to.deep.equal([['slow', 'login_timeout']]);
    expect(events).to.deep.equal(['login_timeout']);
  });

  it('refuses a login past the per-user cap and counts it again once a session ends', () => {
    const { admit, events, users } = gate({ max: 10, perUser: 2 });
    const first = admit('1') as Ticket;
    expect(first.login('u1')).to.equal(true);
    expect((admit('2') as Ticket).login('u1')).to.equal(true);
    const third = admit('3') as Ticket;
    expect(third.login('u1')).to.equal(false);
    expect(third.loggedIn).to.equal(false);
    expect((admit('4') as Ticket).login('u2')).to.equal(true);
    expect(events).to.deep.equal(['user_limit']);
    first.release();
    expect(users?.count('u1')).to.equal(1);
    expect(third.login('u1')).to.equal(true);
  });
});
