/**
 * The write baseline, run as a child process (`fork`): the smallest CORRECT login and refresh on the same
 * MariaDB, without the framework — node:http + mysql2 prepared statements (`execute`):
 *
 * - POST /auth/wechat/login {code}: the code exchanged at the same fake WeChat (jscode2session); a race-safe
 *   upsert of (appid, openid) → user (INSERT … ON DUPLICATE KEY on the primary key decides between parallel
 *   first logins; the winner then inserts the user, a returning login reads the identity); the refresh
 *   token's SHA-256 stored; an HS256 access token signed with node:crypto.
 * - POST /auth/refresh {refreshToken}: the row by hash; the successor inserted, then the conditional UPDATE
 *   that rotates (exactly one of parallel rotations wins; a loser deletes its successor).
 *
 * What it leaves out on purpose: everything the service adds beyond correctness of these two writes (replay
 * ledger, rate limits, reuse interval, revocation epochs, audit rows, session_key encryption, validation,
 * error catalogue, logging). The ratios say what those cost.
 *
 * Environment: BENCH_JWT_SECRET, BENCH_WECHAT_URL, BENCH_WECHAT_APPID, BENCH_WECHAT_SECRET, BENCH_BASELINE_DB
 * (an existing, empty MariaDB database). Sends `{ port }` to the parent when listening.
 */
import { createHash, createHmac, createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPool, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';

const env = (name: string): string => process.env[name] ?? '';
const key = createSecretKey(Buffer.from(env('BENCH_JWT_SECRET'), 'utf8'));
const APPID = env('BENCH_WECHAT_APPID');
const exchangeUrl = (code: string) =>
  `${env('BENCH_WECHAT_URL')}/sns/jscode2session?appid=${APPID}&secret=${env('BENCH_WECHAT_SECRET')}` +
  `&js_code=${encodeURIComponent(code)}&grant_type=authorization_code`;
const ACCESS_TTL_S = 900;
const REFRESH_TTL_MS = 30 * 86_400_000;

// The service's default pool size (DB_POOL_SIZE), so both sides get the same number of connections.
const pool = createPool({
  host: '127.0.0.1',
  port: 3306,
  user: 'root',
  password: '',
  database: env('BENCH_BASELINE_DB'),
  connectionLimit: 10,
});

async function schema(): Promise<void> {
  await pool.query(
    'CREATE TABLE users (id VARCHAR(36) PRIMARY KEY, created_at DATETIME NOT NULL) ENGINE=InnoDB',
  );
  await pool.query(
    'CREATE TABLE identities (appid VARCHAR(64) NOT NULL, openid VARCHAR(64) NOT NULL, user_id VARCHAR(36) NOT NULL,' +
      ' PRIMARY KEY (appid, openid)) ENGINE=InnoDB',
  );
  await pool.query(
    'CREATE TABLE refresh_tokens (id VARCHAR(36) PRIMARY KEY, family_id VARCHAR(36) NOT NULL,' +
      ' user_id VARCHAR(36) NOT NULL, token_hash CHAR(64) NOT NULL UNIQUE, expires_at DATETIME NOT NULL,' +
      ' revoked_at DATETIME NULL, replaced_by VARCHAR(36) NULL, created_at DATETIME NOT NULL,' +
      ' KEY (family_id), KEY (user_id)) ENGINE=InnoDB',
  );
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const HEADER = b64url({ alg: 'HS256', typ: 'at+jwt' });

function sign(userId: string, familyId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const body = `${HEADER}.${b64url({ sub: userId, sid: familyId, appid: APPID, iat: now, exp: now + ACCESS_TTL_S })}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

async function newRefresh(userId: string, familyId: string): Promise<{ id: string; token: string }> {
  const token = randomBytes(32).toString('base64url');
  const id = randomUUID();
  await pool.execute(
    'INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, NOW())',
    [id, familyId, userId, sha256(token), new Date(Date.now() + REFRESH_TTL_MS)],
  );
  return { id, token };
}

async function login(body: { code?: unknown }): Promise<[number, unknown]> {
  if (typeof body.code !== 'string') return [400, { code: 'VALIDATION_FAILED' }];
  const wx = (await (await fetch(exchangeUrl(body.code))).json()) as { openid?: string; errcode?: number };
  if (!wx.openid) return [401, { code: 'WX_CODE_INVALID' }];
  const fresh = randomUUID();
  const [ins] = await pool.execute<ResultSetHeader>(
    'INSERT INTO identities (appid, openid, user_id) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE appid = appid',
    [APPID, wx.openid, fresh],
  );
  let userId: string = fresh;
  if (ins.affectedRows === 1) {
    await pool.execute('INSERT INTO users (id, created_at) VALUES (?, NOW())', [fresh]);
  } else {
    const [rows] = await pool.execute<RowDataPacket[]>(
      'SELECT user_id FROM identities WHERE appid = ? AND openid = ?',
      [APPID, wx.openid],
    );
    userId = rows[0].user_id as string;
  }
  const familyId = randomUUID();
  const refresh = await newRefresh(userId, familyId);
  return [200, { accessToken: sign(userId, familyId), refreshToken: refresh.token, user: { id: userId } }];
}

async function rotate(body: { refreshToken?: unknown }): Promise<[number, unknown]> {
  if (typeof body.refreshToken !== 'string') return [400, { code: 'VALIDATION_FAILED' }];
  const [rows] = await pool.execute<RowDataPacket[]>(
    'SELECT id, family_id, user_id, expires_at, revoked_at FROM refresh_tokens WHERE token_hash = ?',
    [sha256(body.refreshToken)],
  );
  const row = rows[0];
  if (!row || row.revoked_at !== null || (row.expires_at as Date).getTime() <= Date.now())
    return [401, { code: 'REFRESH_TOKEN_INVALID' }];
  const next = await newRefresh(row.user_id as string, row.family_id as string);
  const [upd] = await pool.execute<ResultSetHeader>(
    'UPDATE refresh_tokens SET revoked_at = NOW(), replaced_by = ? WHERE id = ? AND revoked_at IS NULL',
    [next.id, row.id],
  );
  if (upd.affectedRows !== 1) {
    await pool.execute('DELETE FROM refresh_tokens WHERE id = ?', [next.id]);
    return [401, { code: 'REFRESH_TOKEN_INVALID' }];
  }
  return [
    200,
    { accessToken: sign(row.user_id as string, row.family_id as string), refreshToken: next.token },
  ];
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        resolve(v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {});
      } catch {
        resolve({});
      }
    });
  });
}

const send = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
};

const server = createServer((req, res) => {
  const route =
    req.method === 'POST' && req.url === '/auth/wechat/login'
      ? login
      : req.method === 'POST' && req.url === '/auth/refresh'
        ? rotate
        : undefined;
  if (!route) return send(res, 404, { code: 'NOT_FOUND' });
  readJson(req)
    .then(route)
    .then(
      ([status, body]) => send(res, status, body),
      () => send(res, 503, { code: 'DATABASE_UNAVAILABLE' }),
    );
});

void schema().then(() =>
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port })),
);
process.on('disconnect', () => void pool.end().finally(() => process.exit(0)));
