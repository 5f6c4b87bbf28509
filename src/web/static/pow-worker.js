// kzymy proof of work, the search itself: a Web Worker started by pow.js, several at once.
// Worker `index` of `count` searches its share of the nonces and posts {found: "<digits>"} when
// SHA-256("<challenge>:<digits>") starts with <bits> zero bits, {tried: k} now and then for the
// progress line, {failed: true} if it cannot hash at all. SHA-256 (FIPS 180-4) is computed here:
// the blocks before the nonce's last digits are the same for a million nonces, so their state is
// computed once and each attempt is one compression — in Chromium five times faster than a
// crypto.subtle.digest() call per nonce. Where JavaScript is not compiled, Web Crypto is faster,
// and the worker uses it (search() below; docs/signup.md has the measurements).
/* global self, crypto, TextEncoder, performance */
'use strict';

var K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
var INITIAL = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
var W = new Int32Array(64);

/** One SHA-256 compression of the 64 bytes of `block` at `offset` into `state`. */
function compress(state, block, offset) {
  var i;
  for (i = 0; i < 16; i++) {
    var p = offset + i * 4;
    W[i] = (block[p] << 24) | (block[p + 1] << 16) | (block[p + 2] << 8) | block[p + 3];
  }
  for (i = 16; i < 64; i++) {
    var x = W[i - 15];
    var y = W[i - 2];
    var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  var a = state[0];
  var b = state[1];
  var c = state[2];
  var d = state[3];
  var e = state[4];
  var f = state[5];
  var g = state[6];
  var h = state[7];
  for (i = 0; i < 64; i++) {
    var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    var t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    var t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
  state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0;
  state[7] = (state[7] + h) | 0;
}

/** Whether the digest in `state` starts with `bits` zero bits. */
function enoughZeros(state, bits) {
  for (var i = 0; bits > 0; i++, bits -= 32) {
    var word = state[i] >>> 0;
    if (bits >= 32) {
      if (word !== 0) return false;
    } else if (word >>> (32 - bits) !== 0) return false;
  }
  return true;
}

function bytesOf(text) {
  var out = new Uint8Array(text.length);
  for (var i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * The nonces a worker tries, as F + D: F fills the challenge's last block exactly, so every
 * block up to the digits D is the same for a whole round of 10^|D| nonces and hashed once; a
 * nonce then costs one compression (the server takes up to 20 digits; leading zeros are digits
 * too). Worker `index` of `count` takes rounds index, index + count, …
 */
function Nonces(challenge, index, count) {
  this.text = challenge + ':';
  this.fixed = (64 - (this.text.length % 64)) % 64;
  this.varying = Math.min(7, 20 - this.fixed);
  // A challenge of another length than kzymy issues: plain decimal nonces, Web Crypto only.
  this.fast = this.fixed >= 1 && this.varying >= 4;
  this.index = index;
  this.count = count;
  this.round = index - count;
  this.tail = new Uint8Array(64);
  this.mid = new Int32Array(8);
  this.left = 0;
  this.plain = index;
  /** Nonces tried so far (each is tried, then advanced past). */
  this.tried = 0;
  if (this.fast) {
    // The last block: the digits, 0x80, zeros, the length in bits (FIPS 180-4 §5.1.1).
    var bitLength = (this.text.length + this.fixed + this.varying) * 8;
    this.tail[this.varying] = 0x80;
    this.tail[60] = bitLength >>> 24;
    this.tail[61] = (bitLength >>> 16) & 0xff;
    this.tail[62] = (bitLength >>> 8) & 0xff;
    this.tail[63] = bitLength & 0xff;
    this.nextRound();
  }
}

Nonces.prototype.nextRound = function () {
  this.round += this.count;
  var head = String(this.round);
  while (head.length < this.fixed) head = '0' + head;
  this.head = head;
  var start = bytesOf(this.text + head);
  this.mid.set(INITIAL);
  for (var at = 0; at < start.length; at += 64) compress(this.mid, start, at);
  for (var d = 0; d < this.varying; d++) this.tail[d] = 48;
  this.left = Math.pow(10, this.varying);
};

/** The current nonce as text. */
Nonces.prototype.current = function () {
  if (!this.fast) return String(this.plain);
  var digits = '';
  for (var d = 0; d < this.varying; d++) digits += String.fromCharCode(this.tail[d]);
  return this.head + digits;
};

Nonces.prototype.advance = function () {
  this.tried++;
  if (!this.fast) {
    this.plain += this.count;
    return;
  }
  if (--this.left === 0) return this.nextRound();
  // Add one to the decimal digits in place.
  var d = this.varying - 1;
  for (; d >= 0 && this.tail[d] === 57; d--) this.tail[d] = 48;
  if (d >= 0) this.tail[d]++;
};

var state = new Int32Array(8);

/** Tries `n` nonces with this file's SHA-256; the nonce that solves it, or null. */
function tryHere(nonces, bits, n) {
  for (var i = 0; i < n; i++) {
    state.set(nonces.mid);
    compress(state, nonces.tail, 0);
    if (enoughZeros(state, bits)) {
      nonces.tried++;
      return nonces.current();
    }
    nonces.advance();
  }
  return null;
}

function now() {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

var encoder = new TextEncoder();
var BATCH = 256;

function zeroBits(buffer) {
  var bytes = new Uint8Array(buffer);
  var count = 0;
  for (var i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      count += 8;
      continue;
    }
    return count + Math.clz32(bytes[i]) - 24;
  }
  return count;
}

/** Tries `n` nonces (a multiple of BATCH) with crypto.subtle.digest, BATCH at a time. */
async function tryWebCrypto(nonces, bits, n) {
  for (var done = 0; done < n; done += BATCH) {
    var names = [];
    var work = [];
    for (var i = 0; i < BATCH; i++) {
      var nonce = nonces.current();
      names.push(nonce);
      work.push(crypto.subtle.digest('SHA-256', encoder.encode(nonces.text + nonce)));
      nonces.advance();
    }
    var digests = await Promise.all(work);
    for (var j = 0; j < BATCH; j++) if (zeroBits(digests[j]) >= bits) return names[j];
    // (A solution found mid-batch counts the whole batch as tried: it was hashed.)
  }
  return null;
}

/**
 * Which is faster here: this file's SHA-256 wins by far where JavaScript is compiled, but a
 * browser that only interprets it (Tor Browser's "Safer" level turns the JIT off; Chromium with
 * --jitless: 97 µs a hash instead of 1.4) does better with Web Crypto's native digest (7 µs). So
 * each worker times both on its first nonces (they count) and keeps the faster.
 */
async function search(challenge, bits, index, count) {
  var nonces = new Nonces(challenge, index, count);
  var reported = 0;
  var found = null;
  var here = nonces.fast;
  var webCrypto = typeof crypto !== 'undefined' && Boolean(crypto.subtle);
  if (!here && !webCrypto) throw new Error('no way to hash here');
  if (here && webCrypto) {
    // The first nonces warm the JIT up (timed cold, compiled code would look interpreted);
    // then 1024 more are timed against one batch of digests. Interpreted, all this costs 0.2 s.
    found = tryHere(nonces, bits, 1024);
    var t0 = now();
    if (found === null) found = tryHere(nonces, bits, 1024);
    var t1 = now();
    if (found === null) found = await tryWebCrypto(nonces, bits, BATCH);
    var t2 = now();
    here = (t1 - t0) / 1024 <= (t2 - t1) / BATCH;
  }
  while (found === null) {
    found = here ? tryHere(nonces, bits, 65536) : await tryWebCrypto(nonces, bits, 65536);
    if (found === null) {
      self.postMessage({ tried: nonces.tried - reported });
      reported = nonces.tried;
    }
  }
  self.postMessage({ found: found, tried: nonces.tried - reported });
}

self.onmessage = function (event) {
  var job = event.data;
  search(String(job.challenge), Number(job.bits), Number(job.index), Number(job.count)).catch(
    function () {
      self.postMessage({ failed: true });
    },
  );
};
