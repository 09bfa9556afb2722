const { createAuthClient } = require('wechat-auth-miniprogram');
const config = require('./config');
const { sandboxWx } = require('./utils/sandbox-wx');

App({
  /** One client for the whole mini program: every page shares its session, its one login and its one refresh. */
  auth: createAuthClient({
    baseUrl: config.baseUrl,
    wx: config.sandbox ? sandboxWx(config.baseUrl, config.sandboxOpenid) : undefined,
  }),
});
