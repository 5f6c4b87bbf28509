#!/usr/bin/env node
/**
 * A container health check without curl in the image:
 *   node dist/src/metrics/healthcheck.js [PORT] [HOST]
 * asks the admin listener's /healthz (default 127.0.0.1:9465) and exits 0 on 200, 1 otherwise.
 * The configured admin port is not read from the config here on purpose: the check must not
 * depend on the same file and environment that might be what is broken.
 */
const port = Number(process.argv[2] ?? 9465);
const host = process.argv[3] ?? '127.0.0.1';

async function main(): Promise<number> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`healthcheck: not a port: ${process.argv[2]}\n`);
    return 2;
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = (await response.text()).trim();
    process.stdout.write(`${response.status} ${body}\n`);
    return response.status === 200 ? 0 : 1;
  } catch (error) {
    process.stdout.write(`unreachable: ${(error as Error).name}\n`);
    return 1;
  }
}

main().then((code) => process.exit(code));
