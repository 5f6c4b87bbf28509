/** Signing up over HTTP, step by step, as a browser without JavaScript would. */
import { expect } from 'chai';
import type { GpgHome } from '../../helpers/gpg';
import {
  activationFields,
  inputValue,
  preText,
  solvePow,
  type WebClient,
  type WebResponse,
} from './http';

/** Uploads a key (pasted text, or a file when `asFile`) and returns the response. */
export async function submitKey(
  client: WebClient,
  key: string | Buffer,
  asFile = false,
): Promise<WebResponse> {
  const form = await client.get('/signup');
  expect(form.status).to.equal(200);
  const data = new FormData();
  data.set('csrf', inputValue(form.body, 'csrf'));
  if (asFile) {
    data.set('key', '');
    data.set('keyfile', new Blob([new Uint8Array(Buffer.from(key))]), 'key.asc');
  } else {
    data.set('key', key.toString());
  }
  return client.post('/signup/key', data);
}

/** Solves the review page's proof of work and creates the account. */
export async function createAccount(client: WebClient, review: WebResponse): Promise<WebResponse> {
  const challenge = inputValue(review.body, 'challenge');
  const bits = Number(/data-pow-bits="(\d+)"/.exec(review.body)?.[1]);
  return client.post('/signup/create', {
    csrf: inputValue(review.body, 'csrf'),
    key: inputValue(review.body, 'key'),
    challenge,
    pow: solvePow(challenge, bits),
  });
}

export interface SignedUp {
  username: string;
  password: string;
  code: string;
  /** The activation page's form token, for posting the code. */
  csrf: string;
  /** The armored activation message as the page showed it. */
  message: string;
}

/** Key → review → proof of work → pending page; the message is decrypted with `gpg`. */
export async function signUp(
  client: WebClient,
  gpg: GpgHome,
  armoredKey: string,
): Promise<SignedUp> {
  const review = await submitKey(client, armoredKey);
  expect(review.status, review.body).to.equal(200);
  const pending = await createAccount(client, review);
  expect(pending.status, pending.body).to.equal(200);
  const message = preText(pending.body, 'activation-message');
  expect(message).to.match(/^-----BEGIN PGP MESSAGE-----/);
  const fields = activationFields((await gpg.decrypt(message)).toString('utf8'));
  expect(fields.username).to.equal(inputValue(pending.body, 'username'));
  if (!fields.password) throw new Error('the activation message holds no password');
  return {
    username: fields.username,
    password: fields.password,
    code: fields.code,
    csrf: inputValue(pending.body, 'csrf'),
    message,
  };
}

export async function activate(client: WebClient, account: SignedUp): Promise<WebResponse> {
  return client.post('/activate', {
    csrf: account.csrf,
    username: account.username,
    code: account.code,
  });
}

export async function logIn(
  client: WebClient,
  username: string,
  password: string,
): Promise<WebResponse> {
  const form = await client.get('/login');
  return client.post('/login', { csrf: inputValue(form.body, 'csrf'), username, password });
}
