#!/usr/bin/env node
/**
 * The admin CLI.
 *   kzymy config check [--config FILE]
 *   kzymy user add --key FILE [--json]
 *   kzymy user list [--json]
 *   kzymy user delete NAME
 *   kzymy user set NAME --payload protected|exact
 *   kzymy doctor [--online] [--torrc FILE] [--dns-server HOST:PORT] [--json]
 *   kzymy tor [--out FILE] [--service-dir DIR] [--print]
 *   kzymy store copy --to mongodb://… [--database NAME] [--from FILE] [--json]
 * Exit codes follow sysexits(3): 64 usage, 65 bad key, 66 unreadable input, 67 no such user,
 * 75 temporary failure (run again), 78 configuration.
 */
import { parseArgs } from 'node:util';
import { CliError, configPath, loadConfigOrFail } from './args';
import { defaultDoctorDeps, exitCodeOf, formatResults, runDoctor } from './doctor';
import { storeCopy } from './store';
import { torCommand } from './tor';
import { userAdd, userDelete, userList } from './user';
import { userSet } from './user-set';

const USAGE = `usage:
  kzymy config check [--config FILE]
  kzymy user add --key FILE [--json] [--config FILE]
  kzymy user list [--json] [--config FILE]
  kzymy user delete NAME [--config FILE]
  kzymy user set NAME --payload protected|exact [--config FILE]
  kzymy doctor [--online] [--torrc FILE] [--dns-server HOST:PORT] [--json] [--config FILE]
  kzymy tor [--out FILE] [--service-dir DIR] [--print] [--config FILE]
  kzymy store copy --to mongodb://… [--database NAME] [--from FILE] [--json] [--config FILE]`;

const print = (line: string): void => {
  process.stdout.write(line + '\n');
};

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean', default: false },
      online: { type: 'boolean', default: false },
      torrc: { type: 'string' },
      'dns-server': { type: 'string' },
      out: { type: 'string' },
      'service-dir': { type: 'string' },
      print: { type: 'boolean', default: false },
      payload: { type: 'string' },
      to: { type: 'string' },
      from: { type: 'string' },
      database: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, command, ...rest] = positionals;
  if (values.help || !group) {
    print(USAGE);
    return;
  }
  const json = values.json ?? false;
  switch (`${group} ${command ?? ''}`.trim()) {
    case 'config check': {
      const file = rest[0] ?? configPath(values.config);
      await loadConfigOrFail(file);
      print(`configuration OK${file ? ` (${file})` : ' (defaults)'}`);
      return;
    }
    case 'user add':
      if (!values.key) throw new CliError(`user add needs --key FILE\n${USAGE}`, 64);
      return userAdd(await loadConfigOrFail(values.config), values.key, json, print);
    case 'user list':
      return userList(await loadConfigOrFail(values.config), json, print);
    case 'user delete':
      if (!rest[0]) throw new CliError(`user delete needs a NAME\n${USAGE}`, 64);
      return userDelete(await loadConfigOrFail(values.config), rest[0], print);
    case 'user set':
      if (!rest[0]) throw new CliError(`user set needs a NAME\n${USAGE}`, 64);
      return userSet(
        await loadConfigOrFail(values.config),
        rest[0],
        { payload: values.payload },
        print,
      );
    case 'doctor': {
      // Every check's verdict is printed; the exit status is 1 when any of them failed.
      const results = await runDoctor(
        {
          configFile: configPath(values.config),
          online: values.online ?? false,
          torrc: values.torrc,
        },
        defaultDoctorDeps(values['dns-server']),
      );
      print(json ? JSON.stringify({ results }) : formatResults(results));
      const failed = results.filter((result) => result.verdict === 'fail').length;
      if (failed > 0) throw new CliError(`doctor: ${failed} check(s) failed`, exitCodeOf(results));
      return;
    }
    case 'tor':
      // The torrc publishing web, IMAP and POP3 as one onion service, checked by tor itself.
      return torCommand(
        await loadConfigOrFail(values.config),
        { out: values.out, serviceDir: values['service-dir'], print: values.print ?? false },
        print,
      );
    case 'store copy':
      // Users and waiting mail from the sqlite store to MongoDB, ciphertext as it is.
      return storeCopy(
        await loadConfigOrFail(values.config),
        { to: values.to, database: values.database, from: values.from },
        json,
        print,
      );
    default:
      throw new CliError(`unknown command: ${positionals.join(' ')}\n${USAGE}`, 64);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`kzymy: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    // parseArgs' own errors are usage errors; anything else is ours, shown with its kind only.
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`kzymy: ${(error as Error).message}\n${USAGE}\n`);
      process.exit(64);
    }
    process.stderr.write(
      `kzymy: failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`,
    );
    process.exit(70);
  },
);
