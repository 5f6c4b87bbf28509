#!/usr/bin/env node
/**
 * The admin CLI; the commands and their help are in commands.ts (`kzymy --help`).
 * Exit codes follow sysexits(3): 64 usage, 65 bad key, 66 unreadable input, 67 no such user,
 * 75 temporary failure (run again), 78 configuration.
 */
import { parseArgs } from 'node:util';
import { CliError, configPath, loadConfigOrFail } from './args';
import { helpFor, usage } from './commands';
import { defaultDoctorDeps, exitCodeOf, formatResults, runDoctor } from './doctor';
import { storeCopy } from './store';
import { torCommand } from './tor';
import {
  onOff,
  payloadFormatOf,
  userAdd,
  userDelete,
  userList,
  userSet,
  userSetEnabled,
} from './user';
import { forwardChangeOf, userSetForward } from './user-forward';
import { userShow } from './user-show';

const USAGE = usage();

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
      forward: { type: 'string' },
      'forward-host': { type: 'string' },
      'forward-code': { type: 'string' },
      'no-forward': { type: 'boolean', default: false },
      send: { type: 'string' },
      'sign-as-nym': { type: 'string' },
      payload: { type: 'string' },
      to: { type: 'string' },
      from: { type: 'string' },
      database: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, command, ...rest] = positionals;
  if (values.help || !group) {
    print(helpFor(positionals));
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
      if (!values.key)
        throw new CliError(`user add needs --key FILE\n${helpFor(['user', 'add'])}`, 64);
      return userAdd(await loadConfigOrFail(values.config), values.key, json, print);
    case 'user list':
      return userList(await loadConfigOrFail(values.config), json, print);
    case 'user show':
      if (!rest[0]) throw new CliError(`user show needs a NAME\n${helpFor(['user', 'show'])}`, 64);
      return userShow(await loadConfigOrFail(values.config), rest[0], json, print);
    case 'user disable':
    case 'user enable':
      if (!rest[0])
        throw new CliError(`user ${command} needs a NAME\n${helpFor(['user', command ?? ''])}`, 64);
      return userSetEnabled(
        await loadConfigOrFail(values.config),
        rest[0],
        command === 'enable',
        print,
      );
    case 'user delete':
      if (!rest[0])
        throw new CliError(`user delete needs a NAME\n${helpFor(['user', 'delete'])}`, 64);
      return userDelete(await loadConfigOrFail(values.config), rest[0], print);
    case 'user set': {
      if (!rest[0]) throw new CliError(`user set needs a NAME\n${helpFor(['user', 'set'])}`, 64);
      const config = await loadConfigOrFail(values.config);
      const forward = forwardChangeOf(values);
      const settings = {
        send: onOff('--send', values.send),
        signAsNym: onOff('--sign-as-nym', values['sign-as-nym']),
        payload: payloadFormatOf(values.payload),
      };
      // One kind of change a call: forwarding, or the account's settings (sending, payload).
      if (forward && Object.values(settings).some((value) => value !== undefined))
        throw new CliError(
          `user set changes forwarding or the settings, not both at once\n${helpFor(['user', 'set'])}`,
          64,
        );
      if (forward) return userSetForward(config, rest[0], forward, print);
      return userSet(config, rest[0], settings, print);
    }
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
