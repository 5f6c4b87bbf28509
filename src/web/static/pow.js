// kzymy proof of work, solved in the page when JavaScript runs (the page works without it).
// Finds a decimal nonce n with SHA-256("<challenge>:<n>") starting with <bits> zero bits, the
// same puzzle the python3 command on the page solves. Web Crypto only; nothing is fetched.
/* global document, window, crypto, TextEncoder */
'use strict';
(function () {
  var form = document.querySelector('form[data-pow-challenge]');
  if (!form || !window.crypto || !window.crypto.subtle || !window.TextEncoder) return;
  var challenge = form.getAttribute('data-pow-challenge');
  var bits = Number(form.getAttribute('data-pow-bits'));
  var input = form.querySelector('input[name="pow"]');
  var status = document.getElementById('pow-status');
  var manual = document.getElementById('pow-manual');
  var submit = form.querySelector('button[type="submit"]');
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

  function say(text, state) {
    status.textContent = text;
    status.className = state;
  }

  async function solve() {
    var expected = Math.pow(2, bits);
    for (var base = 0; ; base += BATCH) {
      var work = [];
      for (var i = 0; i < BATCH; i++) {
        work.push(crypto.subtle.digest('SHA-256', encoder.encode(challenge + ':' + (base + i))));
      }
      var digests = await Promise.all(work);
      for (var j = 0; j < BATCH; j++) {
        if (zeroBits(digests[j]) >= bits) return base + j;
      }
      if (base % (BATCH * 32) === 0) {
        var share = Math.min(99, Math.floor((100 * base) / expected));
        say('Solving the proof of work… (about ' + share + '% of the expected effort)', 'working');
      }
    }
  }

  if (input.value !== '') return;
  if (manual) manual.open = false;
  submit.disabled = true;
  say('Solving the proof of work…', 'working');
  solve().then(
    function (nonce) {
      input.value = String(nonce);
      submit.disabled = false;
      form.setAttribute('data-pow-solved', 'true');
      say('Proof of work done. Read the notes above, then create your account.', 'done');
    },
    function () {
      submit.disabled = false;
      if (manual) manual.open = true;
      say('Your browser could not solve the puzzle; use one of the commands below.', '');
    },
  );
})();
