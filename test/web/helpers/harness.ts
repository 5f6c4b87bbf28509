/**
 * A real kzymy web server for a test: real deps (the run's FerretDB and Redis, a fresh database
 * and key prefix), listening on a free loopback port.
 */
import type { KzymyConfig } from '../../../src/config/schema';
import type { RunningServer } from '../../../src/util/running-server';
import { startWebServer } from '../../../src/web/server';
import { makeTestDeps, type TestDeps } from '../../helpers/deps';

type WebSettings = Partial<KzymyConfig['web']>;

export interface WebHarness {
  deps: TestDeps;
  server: RunningServer;
  /** http://127.0.0.1:<port> */
  base: string;
  close(): Promise<void>;
}

/** Defaults for tests: a quick proof of work, domain kzymy.test, a configured onion address. */
export async function startWeb(
  web: WebSettings = {},
  extra: {
    clock?: () => Date;
    retention?: Partial<KzymyConfig['retention']>;
    auth?: Partial<KzymyConfig['auth']>;
    send?: Partial<KzymyConfig['send']>;
  } = {},
): Promise<WebHarness> {
  const deps = await makeTestDeps({
    web: {
      host: '127.0.0.1',
      port: 0,
      powBits: 10,
      onionAddress: 'kzymyexampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion',
      ...web,
    },
    ...(extra.retention ? { retention: extra.retention } : {}),
    ...(extra.auth ? { auth: extra.auth } : {}),
    ...(extra.send ? { send: extra.send } : {}),
  });
  if (extra.clock) deps.clock = extra.clock;
  const server = await startWebServer(deps);
  return {
    deps,
    server,
    base: `http://127.0.0.1:${server.port}`,
    async close() {
      await server.close();
      await deps.close();
    },
  };
}
