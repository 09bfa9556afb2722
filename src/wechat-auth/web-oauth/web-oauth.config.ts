import { defineSlice, text } from '../../config/config-slice';
import { isLoopbackUrl } from '../../config/loopback';

/** WeChat's browser pages (the Official Account authorize page and the website QR page). */
export const WECHAT_OPEN_DEFAULT = 'https://open.weixin.qq.com';

/** The browser login doors: Official Account H5 (snsapi_base / snsapi_userinfo) and website QR (snsapi_login). */
export const webOAuthConfig = defineSlice({
  title: 'Web login (Official Account H5, website QR)',
  variables: {
    WECHAT_OPEN_BASE: text({
      defaultDoc:
        '`https://open.weixin.qq.com` (the sandbox: `PUBLIC_URL` or `http://127.0.0.1:$PORT`, then `/sandbox/wechat`)',
      format: 'http(s) URL without query or fragment',
      pattern: /^https?:\/\/[^\s?#]+$/,
      invalid: 'must be an http(s) URL without query or fragment',
      description:
        "where the browser is sent to authorize: WeChat's `/connect/oauth2/authorize` (Official Account) and " +
        '`/connect/qrconnect` (website) pages live under it. Production refuses `http://` unless the host is loopback',
    }),
    OAUTH_RETURN_ORIGINS: text({
      defaultDoc: 'none (the browser login routes answer `400 RETURN_TO_NOT_ALLOWED`)',
      format: 'comma-separated origins, e.g. `https://m.example.com,https://www.example.com`',
      pattern: /^\s*https?:\/\/[^\s,/?#]+(\s*,\s*https?:\/\/[^\s,/?#]+)*\s*$/,
      invalid: 'must be a comma-separated list of origins like https://m.example.com (no paths)',
      description:
        'exact origins a browser login may return to (`returnTo` of `/auth/wechat/oauth/authorize`): the login ' +
        'ticket is delivered there, so only pages you own belong here',
    }),
  },
  build(v, ctx, built) {
    const sandbox = built.wechat?.sandbox ?? false;
    // The sandbox's pages are this service's own: the browser reaches them where it reaches the service.
    const sandboxBase = `${built.publicUrl ?? `http://127.0.0.1:${ctx.port}`}/sandbox/wechat`;
    const openBase = (v.WECHAT_OPEN_BASE ?? (sandbox ? sandboxBase : WECHAT_OPEN_DEFAULT)).replace(
      /\/+$/,
      '',
    );
    if (ctx.isProd && !openBase.startsWith('https://') && !isLoopbackUrl(openBase))
      ctx.problem('WECHAT_OPEN_BASE must be https:// in production (only a loopback host may use http://)');
    const returnOrigins: string[] = [];
    for (const raw of (v.OAUTH_RETURN_ORIGINS ?? '').split(',').map((s) => s.trim())) {
      if (!raw) continue;
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        ctx.problem(`OAUTH_RETURN_ORIGINS: ${raw} is not a valid origin`);
        continue;
      }
      // Tickets travel to these pages in the URL fragment: in production, never over clear text.
      if (ctx.isProd && url.protocol !== 'https:' && !isLoopbackUrl(url.origin))
        ctx.problem('OAUTH_RETURN_ORIGINS must be https:// origins in production (loopback excepted)');
      returnOrigins.push(url.origin);
    }
    return { webOAuth: { openBase, returnOrigins } };
  },
});
