import request from 'supertest';

/** A browser's cookie jar for the login routes, reduced to the one cookie they set. */
export function bindingCookie(res: request.Response): string {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const cookie = set.find((c) => c.startsWith('wxauth_oauth='));
  if (!cookie) throw new Error(`no binding cookie in ${JSON.stringify(set)}`);
  return cookie.split(';')[0];
}

/** Path and query of an absolute URL (supertest talks to the app's server, whatever the host says). */
export const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** The fragment of a redirect to returnTo, as the page reads it. */
export const fragmentOf = (location: string) => new URLSearchParams(new URL(location).hash.slice(1));

/** The hidden fields and action of the sandbox page's form (what a browser would submit). */
export function formOf(html: string): { action: string; fields: URLSearchParams } {
  const action = /<form id="authorize" method="get" action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no authorize form in ${html}`);
  const fields = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g))
    fields.set(
      m[1],
      m[2].replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))),
    );
  return { action, fields };
}
