/**
 * `wx` for a service in sandbox mode: `login` asks the sandbox for a login code (what wx.login would give),
 * everything else is the real `wx`. Pass it as createAuthClient's `wx` option; with a real AppID pass nothing.
 */
function sandboxWx(baseUrl, openid) {
  return {
    login(options) {
      wx.request({
        url: baseUrl + '/sandbox/wechat/codes',
        method: 'POST',
        data: { openid: openid },
        success(res) {
          if (res.statusCode === 201 && res.data && res.data.code)
            options.success && options.success({ code: res.data.code });
          else options.fail && options.fail({ errMsg: 'login:fail sandbox answered ' + res.statusCode });
        },
        fail(err) {
          options.fail && options.fail(err);
        },
      });
    },
    request: (options) => wx.request(options),
    getStorageSync: (key) => wx.getStorageSync(key),
    setStorageSync: (key, value) => wx.setStorageSync(key, value),
    removeStorageSync: (key) => wx.removeStorageSync(key),
  };
}

/** What the getPhoneNumber button would give, from the sandbox (DevTools' button has no real number). */
function sandboxPhoneCode(baseUrl, openid, phoneNumber) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: baseUrl + '/sandbox/wechat/phone-codes',
      method: 'POST',
      data: { openid: openid, phoneNumber: phoneNumber },
      success: (res) =>
        res.statusCode === 201
          ? resolve(res.data.code)
          : reject(new Error('sandbox answered ' + res.statusCode)),
      fail: reject,
    });
  });
}

module.exports = { sandboxWx, sandboxPhoneCode };
