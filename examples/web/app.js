// The example web page of the WeChat auth service: both browser doors (Official Account H5 and website QR),
// the ticket redeemed, then an API call with the access token. Plain browser JavaScript, no build step.
//
// Settings (query parameters of this page, so one copy works against any deployment):
//   api  the service's origin              (default http://127.0.0.1:3000)
//   oa   the Official Account appid (`oa`)  (default wxoa)
//   web  the website appid (`web`)          (default wxweb)
// The service must list this page's origin in OAUTH_RETURN_ORIGINS (where tickets may go) and CORS_ORIGINS
// (this page calls it with fetch).
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var api = (params.get('api') || 'http://127.0.0.1:3000').replace(/\/+$/, '');
  var apps = { oa: params.get('oa') || 'wxoa', web: params.get('web') || 'wxweb' };

  // What each #error=CODE means to a visitor (docs/web-login.md); anything else: try again later.
  var MESSAGES = {
    ACCESS_DENIED: 'You declined the WeChat authorization. You can keep browsing, or log in again.',
    SNAPSHOT_USER: 'This is WeChat\u2019s preview of the page: tap \u201cUse full service\u201d to log in.',
    WX_CODE_INVALID: 'The WeChat authorization expired. Please log in again.',
    WX_CODE_USED: 'The WeChat authorization was already used. Please log in again.',
    USER_DISABLED: 'This account is disabled.',
    TICKET_INVALID: 'This login link has expired. Please log in again.',
  };

  // Tokens live in memory only: a reload logs out (a real page would keep the refresh token somewhere safer).
  var session = null;

  function show(id, text) {
    var el = document.getElementById(id);
    el.textContent = text;
    el.hidden = false;
  }

  function login(kind) {
    // Come back to exactly this page (without a fragment): the service appends #ticket=… or #error=….
    var returnTo = location.origin + location.pathname + location.search;
    var query = new URLSearchParams({ appid: apps[kind], returnTo: returnTo });
    if (kind === 'oa') query.set('scope', 'snsapi_userinfo');
    location.assign(api + '/auth/wechat/oauth/authorize?' + query);
  }

  function call(path, init) {
    return fetch(api + path, init).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw Object.assign(new Error(body.message || res.statusText), { code: body.code });
        return body;
      });
    });
  }

  function fail(code) {
    show('error', MESSAGES[code] || 'The login did not complete (' + code + '). Please try again later.');
    document.getElementById('error').dataset.code = code;
    show('status', 'Not logged in.');
  }

  function arrive() {
    var fragment = new URLSearchParams(location.hash.slice(1));
    if (!fragment.has('ticket') && !fragment.has('error')) return;
    // Drop the fragment at once: the ticket must not stay in history or be bookmarked.
    history.replaceState(null, '', location.pathname + location.search);
    if (fragment.has('error')) return fail(fragment.get('error'));
    show('status', 'Logging in\u2026');
    call('/auth/tickets/redeem', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ticket: fragment.get('ticket') }),
    })
      .then(function (login) {
        session = login;
        return call('/users/me', { headers: { authorization: 'Bearer ' + session.accessToken } });
      })
      .then(function (me) {
        show('status', 'Logged in as ' + (me.nickname || 'a WeChat user') + '.');
        document.getElementById('status').dataset.userId = me.id;
        show('me', JSON.stringify(me, null, 2));
      })
      .catch(function (err) {
        fail(err.code || 'NETWORK_ERROR');
      });
  }

  document.getElementById('login-oa').addEventListener('click', function () {
    login('oa');
  });
  document.getElementById('login-web').addEventListener('click', function () {
    login('web');
  });
  arrive();
})();
