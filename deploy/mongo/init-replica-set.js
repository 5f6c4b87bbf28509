/* global require, Mongo, sleep, print, quit */
// Run by the compose service mongo-init with `mongosh --nodb` after mongod is up. Idempotent, so
// it runs on every `docker compose up`:
//   1. initiates the replica set rs0 with its one member (production: three, docs/operations/deploy.md);
//   2. waits until this member is primary;
//   3. creates (or updates the password of) kzymy's user: readWrite on the kzymy database only.
// Passwords come from the secret files, never from the command line or the environment.

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require('fs');

const secret = (name) => fs.readFileSync(`/run/secrets/${name}`, 'utf8').trim();
const REPLICA_SET = 'rs0';
const MEMBER = 'mongo:27017';
const DATABASE = 'kzymy';

const admin = new Mongo(`mongodb://${MEMBER}/?directConnection=true`).getDB('admin');
admin.auth('root', secret('mongo_root_password'));

let initiated = true;
try {
  admin.adminCommand({ replSetGetStatus: 1 });
} catch (error) {
  // 94 NotYetInitialized: a fresh mongod started with --replSet.
  if (error.code !== 94) throw error;
  initiated = false;
}
if (!initiated) {
  admin.adminCommand({
    replSetInitiate: { _id: REPLICA_SET, members: [{ _id: 0, host: MEMBER }] },
  });
  print(`initiated replica set ${REPLICA_SET}`);
}

const deadline = Date.now() + 60_000;
while (!admin.adminCommand({ hello: 1 }).isWritablePrimary) {
  if (Date.now() > deadline) {
    print('this member did not become primary within 60 s');
    quit(1);
  }
  sleep(500);
}

const roles = [{ role: 'readWrite', db: DATABASE }];
const password = secret('mongo_kzymy_password');
if (admin.getUser('kzymy') === null) {
  admin.createUser({ user: 'kzymy', pwd: password, roles });
  print('created the kzymy database user');
} else {
  admin.updateUser('kzymy', { pwd: password, roles });
  print('updated the kzymy database user');
}
quit(0);
