import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from '../support/free-port';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const EXAMPLE_DIR = join(__dirname, '..', '..', 'examples', 'web');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** examples/web as any static host would serve it, on its own origin. */
function serveExample(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = normalize(join(EXAMPLE_DIR, path === '/' ? 'index.html' : path));
    if (!file.startsWith(EXAMPLE_DIR) || !existsSync(file) || !TYPES[extname(file)]) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * examples/web in a real browser (Debian's chromium through playwright-core): the page starts each browser
 * door, the sandbox's WeChat pages are clicked through, the page redeems the ticket and calls /users/me.
 * Chromium is required, not optional: `.ci/run` installs it; locally `apt-get install -y chromium`.
 */
describe('examples/web in headless Chromium (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let site: Server;
  let context: BrowserContext;
  let userDataDir: string;
  let pageUrl: string;
  /** Every URL Chromium requested, and every token the page received. */
  const requested: string[] = [];
  const tokens: string[] = [];
  const tickets: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: this test drives examples/web in Chromium. Install it with ` +
          '`apt-get install -y chromium` (Debian; .ci/run does), or point CHROMIUM_PATH at a Chromium binary.',
      );
    site = await serveExample();
    const siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    db = await createTestDatabase();
    const port = await freePort();
    t = await createTestApp({
      databaseUrl: db.url,
      listen: true,
      env: {
        PORT: String(port),
        WECHAT_SANDBOX: 'true',
        WECHAT_APPID: '',
        WECHAT_SECRET: '',
        WECHAT_APPS: 'wxoa:oa-secret-0123:oa,wxweb:web-secret-0123:web',
        OAUTH_RETURN_ORIGINS: siteOrigin,
        CORS_ORIGINS: siteOrigin,
      },
    });
    pageUrl = `${siteOrigin}/?api=${encodeURIComponent(`http://127.0.0.1:${port}`)}`;
    userDataDir = mkdtempSync(join(tmpdir(), 'wxauth-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context.on('request', (req) => {
      requested.push(req.url());
      if (req.url().endsWith('/auth/tickets/redeem') && req.method() === 'POST')
        tickets.push((JSON.parse(req.postData() ?? '{}') as { ticket: string }).ticket);
    });
    context.on('response', (res) => {
      if (!res.url().endsWith('/auth/tickets/redeem') || res.status() !== 200) return;
      void res.json().then((body: { accessToken: string; refreshToken: string }) => {
        tokens.push(body.accessToken, body.refreshToken);
      });
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await t?.close();
    await db?.drop();
    await new Promise((resolve) => site?.close(resolve));
  });

  /** Click a door on the example page, then on the sandbox's WeChat page: persona and decision. */
  const throughWechat = async (
    page: Page,
    door: 'oa' | 'web',
    persona: string,
    decision: 'allow' | 'deny',
    twice = false,
  ) => {
    await page.goto(pageUrl);
    await page.click(`#login-${door}`);
    await page.waitForSelector('form#authorize');
    expect(page.url()).toContain(
      door === 'oa' ? '/sandbox/wechat/connect/oauth2/authorize?' : '/sandbox/wechat/connect/qrconnect?',
    );
    await page.check(`input[name=persona][value=${persona}]`);
    if (twice) await page.check('input[name=twice]');
    await page.click(decision === 'allow' ? '#allow' : '#deny');
    // Back on the example page: it drops the fragment and shows the outcome.
    await page.waitForURL((url) => url.href.startsWith(pageUrl.split('?')[0]) && !url.hash, {
      timeout: 15_000,
    });
  };

  it('logs in through the Official Account door, then the website QR door: one person, one user', async () => {
    const page = await context.newPage();
    await throughWechat(page, 'oa', 'alice', 'allow');
    const status = page.locator('#status[data-user-id]');
    await status.waitFor({ timeout: 15_000 });
    expect(await status.textContent()).toBe('Logged in as Alice.');
    const userId = await status.getAttribute('data-user-id');
    const me = JSON.parse((await page.locator('#me').textContent())!);
    expect(me).toMatchObject({ id: userId, nickname: 'Alice' });

    // The QR door, with WeChat delivering the callback twice: still one login, the same person.
    await throughWechat(page, 'web', 'alice', 'allow', true);
    const again = page.locator('#status[data-user-id]');
    await again.waitFor({ timeout: 15_000 });
    expect(await again.getAttribute('data-user-id')).toBe(userId);
    await page.close();
  });

  it('a declined authorization and a snapshot visitor are shown as such; nobody is logged in', async () => {
    const page = await context.newPage();
    await throughWechat(page, 'oa', 'bob', 'deny');
    await page.locator('#error[data-code=ACCESS_DENIED]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#status').textContent()).toBe('Not logged in.');
    await throughWechat(page, 'oa', 'snapshot', 'allow');
    await page.locator('#error[data-code=SNAPSHOT_USER]').waitFor({ timeout: 15_000 });
    await page.close();
  });

  it('no token in any URL the browser requested; no ticket or token in the service logs', () => {
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    expect(tickets.length).toBeGreaterThanOrEqual(2);
    for (const url of requested) for (const token of tokens) expect(url.includes(token)).toBe(false);
    const logs = t.logs.join('\n');
    for (const secret of [...tokens, ...tickets]) expect(logs.includes(secret)).toBe(false);
  });
});
