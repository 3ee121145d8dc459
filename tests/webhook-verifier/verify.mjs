// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2026 reachcelld developers
//
// An independent check of reachcelld's webhook signatures, with the Standard Webhooks reference
// library (npm "standardwebhooks", installed here by `npm ci --prefix tests/webhook-verifier`).
//
// Usage: node verify.mjs FILE
// FILE: {"secret": "whsec_…", "requests": [{"headers": {"webhook-id": …}, "body": "…"}, …]}
// (a request may carry "body_base64" instead of "body" for exact bytes). Exits 0 after printing
// "verified N request(s)", or non-zero with a message naming the first request that fails.

import { readFileSync } from 'node:fs';

function fail(message, code = 1) {
  console.error(`verify.mjs: ${message}`);
  process.exit(code);
}

let Webhook;
try {
  ({ Webhook } = await import('standardwebhooks'));
} catch (e) {
  fail(`cannot load the npm package "standardwebhooks" (run: npm ci --prefix tests/webhook-verifier): ${e.message}`, 3);
}

if (process.argv.length !== 3)
  fail('usage: node verify.mjs FILE', 2);

let input;
try {
  input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (e) {
  fail(`cannot read ${process.argv[2]}: ${e.message}`, 2);
}
if (typeof input.secret !== 'string' || !Array.isArray(input.requests))
  fail('expected {"secret": "whsec_…", "requests": [...]}', 2);

// The library's own known answer first (Standard Webhooks test vector), so a broken install
// cannot pass vacuously.
{
  const wh = new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
  const got = wh.sign('msg_p5jXN8AQM9LWM0D4loKWxJek', new Date(1614265330 * 1000),
                      '{"test": 2432232314}');
  if (got !== 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
    fail(`the library's known-answer vector failed: ${got}`, 3);
}

if (input.requests.length === 0)
  fail('no requests to verify');

const wh = new Webhook(input.secret);
input.requests.forEach((request, i) => {
  const body = request.body_base64 !== undefined ? Buffer.from(request.body_base64, 'base64')
                                                 : request.body;
  try {
    wh.verify(body, request.headers);
  } catch (e) {
    fail(`request ${i} (webhook-id ${request.headers['webhook-id']}, timestamp ` +
         `${request.headers['webhook-timestamp']}, signature ${request.headers['webhook-signature']}) ` +
         `does not verify: ${e.name}: ${e.message}`);
  }
});
console.log(`verified ${input.requests.length} request(s)`);
