const config = require('../../config');
const { sandboxPhoneCode } = require('../../utils/sandbox-wx');

const auth = getApp().auth;

/** The service's error code and request id (AuthError), for the page and for a support ticket. */
function describe(e) {
  if (e && e.code)
    return (
      e.code +
      ' (' +
      e.statusCode +
      ')' +
      (e.retryAfter ? ', retry in ' + e.retryAfter + ' s' : '') +
      (e.requestId ? ' · ' + e.requestId : '')
    );
  return String(e && e.message ? e.message : e);
}

Page({
  data: {
    loggedIn: false,
    profile: null,
    avatarPreview: '',
    session: '',
    message: '',
    busy: false,
  },

  onShow() {
    this.setData({ loggedIn: auth.isLoggedIn() });
    // The first guarded request logs in by itself (one wx.login, however many requests start at once).
    this.run(() => this.loadProfile());
  },

  async loadProfile() {
    const res = await auth.request({ url: '/users/me' });
    this.setData({ profile: res.data, loggedIn: true });
  },

  async run(task, done) {
    this.setData({ busy: true, message: '' });
    try {
      await task();
      if (done) this.setData({ message: done });
    } catch (e) {
      this.setData({ message: describe(e), loggedIn: auth.isLoggedIn() });
    } finally {
      this.setData({ busy: false });
    }
  },

  onLogin() {
    this.run(async () => {
      const user = await auth.login();
      await this.loadProfile();
      this.setData({ message: user.isNew ? 'Welcome, new user' : 'Logged in again' });
    });
  },

  onLogout() {
    this.run(async () => {
      await auth.logout();
      this.setData({ loggedIn: false, profile: null, session: '' });
    }, 'Logged out');
  },

  /** open-type="getPhoneNumber": e.detail.code (not a wx.login code) goes to POST /auth/wechat/phone. */
  onGetPhoneNumber(e) {
    this.run(async () => {
      let code = e.detail && e.detail.code;
      if (config.sandbox) code = await sandboxPhoneCode(config.baseUrl, config.sandboxOpenid, '13812345678');
      if (!code) {
        this.setData({ message: 'Phone number not shared' });
        return;
      }
      const bound = await auth.bindPhone(code);
      await this.loadProfile();
      this.setData({ message: 'Bound ' + bound.phone });
    });
  },

  /** open-type="chooseAvatar": a temporary file, to upload to your own storage before saving its URL. */
  onChooseAvatar(e) {
    this.setData({ avatarPreview: e.detail.avatarUrl });
  },

  /** The nickname input (type="nickname") is read on submit, after WeChat's content check has run. */
  onSaveProfile(e) {
    const nickname = (e.detail.value.nickname || '').trim();
    this.run(async () => {
      const patch = {};
      if (nickname) patch.nickname = nickname;
      if (this.data.avatarPreview && typeof config.uploadAvatar === 'function')
        patch.avatarUrl = await config.uploadAvatar(this.data.avatarPreview);
      if (!Object.keys(patch).length) return;
      // PUT /users/me (wx.request has no PATCH; the service takes the same body on PUT).
      const profile = await auth.updateProfile(patch);
      this.setData({ profile: profile });
    }, 'Profile saved');
  },

  /** Whether WeChat still holds the service's session_key; when stale the SDK logs in again (one wx.login). */
  onCheckSession() {
    this.run(async () => {
      const check = await auth.checkSession();
      this.setData({
        session: check.valid
          ? 'session_key valid'
          : check.renewed
            ? 'session_key was stale: logged in again'
            : 'session_key stale',
      });
    });
  },
});
