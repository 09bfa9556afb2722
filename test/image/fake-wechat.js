'use strict';
// A stand-in for WeChat's jscode2session on loopback, for the image test (test/image/run.sh): the production
// container reaches it over the host network (production allows a cleartext WECHAT_API_BASE only on loopback).
// Usage: node fake-wechat.js <appid> <secret>; prints the port it listens on, then serves until killed.
//   /sns/jscode2session?appid&secret&js_code&grant_type  → {openid, session_key} for any code, one use each;
//   a code starting with "slow-" is answered after 2 s (a login in flight while the container is stopped), and
//   announced on stderr when it arrives.
const { createHash, randomBytes } = require('node:crypto');
const { createServer } = require('node:http');

const [appid, secret] = process.argv.slice(2);
if (!appid || !secret) {
  process.stderr.write('usage: node fake-wechat.js <appid> <secret>\n');
  process.exit(2);
}
const used = new Set();

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const reply = (body) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  if (req.method !== 'GET' || url.pathname !== '/sns/jscode2session') {
    res.statusCode = 404;
    return reply({ errcode: -1, errmsg: 'not served by the fake' });
  }
  const q = url.searchParams;
  // The app must send the configured credentials: a mismatch is WeChat's 40013/40125.
  if (q.get('appid') !== appid) return reply({ errcode: 40013, errmsg: 'invalid appid' });
  if (q.get('secret') !== secret) return reply({ errcode: 40125, errmsg: 'invalid appsecret' });
  const code = q.get('js_code');
  if (!code || q.get('grant_type') !== 'authorization_code')
    return reply({ errcode: 40029, errmsg: 'invalid code' });
  if (used.has(code)) return reply({ errcode: 40163, errmsg: 'code been used' });
  used.add(code);
  // One WeChat user per code suffix after the first dash-separated word: "a-alice" and "slow-alice" are the same.
  const who = code.replace(/^[^-]*-/, '');
  const answer = {
    openid: `o${createHash('sha256').update(who).digest('base64url').slice(0, 27)}`,
    session_key: randomBytes(16).toString('base64'),
  };
  if (code.startsWith('slow-')) {
    // Tells the test the login is now in flight inside the app (it waits for this line before stopping it).
    process.stderr.write(`slow request received: ${code}\n`);
    setTimeout(() => reply(answer), 2000);
  } else reply(answer);
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
