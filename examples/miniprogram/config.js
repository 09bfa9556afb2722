/**
 * Where the service runs and whether it is in sandbox mode (`npm start` in the repository: sandbox on,
 * http://127.0.0.1:3000). DevTools must be told not to check request domains (project.config.json sets
 * `urlCheck: false`; Details → Local settings shows it) to reach a local http:// address.
 *
 * In sandbox mode the service does not know WeChat's real login and phone codes, so the example gets them
 * from the sandbox instead (utils/sandbox-wx.js): the SDK and the page code are the same either way.
 */
module.exports = {
  baseUrl: 'http://127.0.0.1:3000',
  sandbox: true,
  /** The WeChat user the sandbox logs in as (any id of [A-Za-z0-9_-]). */
  sandboxOpenid: 'o-demo-user',
  /**
   * The avatar fill-in hands over a temporary local file; the service stores an https URL. Upload the file to
   * your own storage here (wx.uploadFile to your upload API, or cloud storage) and resolve its https URL.
   * null: the example keeps the avatar on the page only and saves the nickname.
   */
  uploadAvatar: null,
};
