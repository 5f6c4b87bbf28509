/** Users and their address policy on the SQLite engine: reads here, writes on the writer. */
import type { UserStore } from '../store';
import type { AddressPolicy, NewUser, PayloadFormat, User } from '../types';
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

  private async change(id: string, change: UserChange): Promise<boolean> {
    if (!parseId(id)) return false;
    return this.writer.submit({ op: 'updateUser', userId: id, change });
  }
}
