/** Users and their address policy on the SQLite engine: reads here, writes on the writer. */
import type { UserStore } from '../store';
import {
  USER_STATES,
  type AddressPolicy,
  type ForwardFailure,
  type ForwardSetting,
  type NewUser,
  type PayloadFormat,
  type SendingSettings,
  type User,
  type UserState,
} from '../types';
import { failureData, settingData } from './forward-rows';
import type { UserChange } from './jobs';
import { read, type Reads } from './reads';
import { parseId, toUser, type UserRow } from './rows';
import type { Writer } from './writer';

export class SqliteUserStore implements UserStore {
  constructor(
    private readonly reads: Reads,
    private readonly writer: Writer,
    private readonly clock: () => Date,
  ) {}

  create(input: NewUser): Promise<User> {
    return this.writer.submit({ op: 'createUser', input, createdAt: this.clock().getTime() });
  }

  async byName(username: string): Promise<User | null> {
    const row = await read(() => this.reads.userByName.get(username.toLowerCase()));
    return row ? toUser(row as UserRow) : null;
  }

  async byId(id: string): Promise<User | null> {
    const key = parseId(id);
    if (!key) return null;
    const row = await read(() => this.reads.userById.get(key));
    return row ? toUser(row as UserRow) : null;
  }

  async list(): Promise<User[]> {
    return (await read(() => this.reads.users.all() as UserRow[])).map(toUser);
  }

  async pendingBefore(cutoff: Date): Promise<User[]> {
    const rows = await read(() => this.reads.pendingBefore.all(cutoff.getTime()) as UserRow[]);
    return rows.map(toUser);
  }

  activate(id: string): Promise<boolean> {
    return this.change(id, { kind: 'activate' });
  }

  disable(id: string): Promise<boolean> {
    return this.change(id, { kind: 'disableAccount' });
  }

  enable(id: string): Promise<boolean> {
    return this.change(id, { kind: 'enableAccount' });
  }

  noteFetchDay(id: string, day: string): Promise<boolean> {
    return this.change(id, { kind: 'fetchDay', day });
  }

  async countWithFingerprint(fingerprint: string): Promise<number> {
    return (await read(() => this.reads.countWithFingerprint.get(fingerprint) as { n: number })).n;
  }

  async countByState(): Promise<Record<UserState, number>> {
    const rows = await read(() => this.reads.countByState.all() as { state: string; n: number }[]);
    const counts = Object.fromEntries(USER_STATES.map((state) => [state, 0])) as Record<
      UserState,
      number
    >;
    for (const row of rows) if (row.state in counts) counts[row.state as UserState] = row.n;
    return counts;
  }

  markDeleting(id: string): Promise<boolean> {
    return this.change(id, { kind: 'markDeleting' });
  }

  setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    return this.change(id, { kind: 'passwordHash', passwordHash });
  }

  setKey(id: string, fingerprint: string, publicKey: string): Promise<boolean> {
    return this.change(id, { kind: 'key', fingerprint, publicKey });
  }

  setCatchAll(id: string, catchAll: boolean): Promise<boolean> {
    return this.change(id, { kind: 'catchAll', catchAll });
  }

  setPayloadFormat(id: string, format: PayloadFormat): Promise<boolean> {
    return this.change(id, { kind: 'payloadFormat', format });
  }

  allowAddress(id: string, local: string): Promise<boolean> {
    return this.change(id, { kind: 'allow', local });
  }

  disableAddress(id: string, local: string): Promise<boolean> {
    return this.change(id, { kind: 'disable', local });
  }

  forgetAddress(id: string, local: string): Promise<boolean> {
    return this.change(id, { kind: 'forget', local });
  }

  async policy(id: string): Promise<AddressPolicy | null> {
    return (await this.byId(id))?.policy ?? null;
  }

  setForward(id: string, forward: ForwardSetting): Promise<boolean> {
    return this.change(id, { kind: 'forward', forward: settingData(forward) });
  }

  clearForward(id: string): Promise<boolean> {
    return this.change(id, { kind: 'forward', forward: null });
  }

  /** One UPDATE that names the address, so the comparison and the write cannot drift apart. */
  setForwardFailure(id: string, address: string, failure: ForwardFailure | null): Promise<boolean> {
    return this.change(id, {
      kind: 'forwardFailure',
      address,
      failure: failure ? failureData(failure) : null,
    });
  }

  async forwardingUserIds(): Promise<string[]> {
    const rows = (await read(() => this.reads.forwardingUsers.all())) as { id: Buffer }[];
    return rows.map((row) => row.id.toString('hex'));
  }

  setSending(id: string, change: Partial<SendingSettings>): Promise<boolean> {
    // Only the switches given: an absent one crosses to the writer as absent, not as false.
    return this.change(id, {
      kind: 'sending',
      ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
      ...(change.signAsNym !== undefined ? { signAsNym: change.signAsNym } : {}),
    });
  }

  private async change(id: string, change: UserChange): Promise<boolean> {
    if (!parseId(id)) return false;
    return this.writer.submit({ op: 'updateUser', userId: id, change });
  }
}
