// kzymy proof of work, solved in the page when JavaScript runs (the page works without it).
// Finds a nonce n, decimal digits, with SHA-256("<challenge>:<n>") starting with <bits> zero
// bits: the puzzle the python3 command on the page solves. The search runs in Web Workers
// (/static/pow-worker.js), one per processor up to eight, so the page stays responsive; where
// workers are not available, Web Crypto digests in batches here. Nothing is fetched but the
// worker script.
/* global document, window, navigator, crypto, TextEncoder, Worker */
'use strict';
(function () {
  var form = document.querySelector('form[data-pow-challenge]');
  if (!form) return;
  var challenge = form.getAttribute('data-pow-challenge');
  var bits = Number(form.getAttribute('data-pow-bits'));
  var input = form.querySelector('input[name="pow"]');
  var status = document.getElementById('pow-status');
  var manual = document.getElementById('pow-manual');
  var submit = form.querySelector('button[type="submit"]');
  var expected = Math.pow(2, bits);
  var started = Date.now();
  var tried = 0;

  function say(text, state) {
    status.textContent = text;
    status.className = state;
  }

  function progress(tried) {
    var share = Math.min(99, Math.floor((100 * tried) / expected));
    say('Solving the proof of work… (about ' + share + '% of the expected effort)', 'working');
  }

  /** Workers, each searching its share; resolves with the first solution. */
  function solveInWorkers() {
    return new Promise(function (resolve, reject) {
      var count = Math.max(1, Math.min(8, navigator.hardwareConcurrency || 2));
      var workers = [];
      var finish = function (error, nonce) {
        workers.forEach(function (worker) {
          worker.terminate();
        });
        workers = [];
        if (error) reject(error);
        else resolve(nonce);
      };
      for (var i = 0; i < count; i++) {
        var worker = new Worker('/static/pow-worker.js');
        worker.onmessage = function (event) {
          tried += event.data.tried || 0;
          if (event.data.failed) finish(new Error('worker cannot hash'));
          else if (event.data.found !== undefined) finish(null, String(event.data.found));
          else progress(tried);
        };
        worker.onerror = function (event) {
          event.preventDefault();
          finish(new Error('worker failed'));
        };
        worker.postMessage({ challenge: challenge, bits: bits, index: i, count: count });
        workers.push(worker);
      }
    });
  }

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

  /** Without workers: Web Crypto in batches on this thread (several times slower). */
  async function solveHere() {
    var encoder = new TextEncoder();
    var BATCH = 256;
    for (var base = 0; ; base += BATCH) {
      var work = [];
      for (var i = 0; i < BATCH; i++) {
        work.push(crypto.subtle.digest('SHA-256', encoder.encode(challenge + ':' + (base + i))));
      }
      var digests = await Promise.all(work);
      for (var j = 0; j < BATCH; j++) {
        if (zeroBits(digests[j]) >= bits) return String(base + j);
      }
      tried = base + BATCH;
      if (base % (BATCH * 32) === 0) progress(base);
    }
  }

  if (input.value !== '') return;
  var solve;
  if (window.Worker) solve = solveInWorkers;
  else if (window.crypto && window.crypto.subtle && window.TextEncoder) solve = solveHere;
  else return;
  if (manual) manual.open = false;
  submit.disabled = true;
  say('Solving the proof of work…', 'working');
  solve().then(
    function (nonce) {
      input.value = nonce;
      submit.disabled = false;
      form.setAttribute('data-pow-solved', 'true');
      // How long it took and how many hashes: what test/web/pow-speed.test.ts measures.
      form.setAttribute('data-pow-ms', String(Date.now() - started));
      form.setAttribute('data-pow-tried', String(tried));
      say('Proof of work done. Read the notes above, then create your account.', 'done');
    },
    function () {
      submit.disabled = false;
      if (manual) manual.open = true;
      say('Your browser could not solve the puzzle; use one of the commands below.', '');
    },
  );
})();
