/**
 * The part of the mini-program API the client uses: `login` and `request` (callback style) and synchronous
 * storage. WeChat's `wx` has it (checked against miniprogram-api-typings in typings-check.ts), and so do
 * uni-app's `uni` and Taro's `Taro`; the tests pass a stand-in that runs in Node.
 *
 * Declared structurally, not as `WechatMiniprogram.Wx`, so the published types do not pull WeChat's global
 * declarations into a uni-app, Taro or Node project.
 */

/** The methods `wx.request` accepts (it has no PATCH; uni-app and Taro's H5 targets do). */
export type HttpMethod = 'OPTIONS' | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface WxRequestSuccess {
  statusCode: number;
  /** Parsed JSON (dataType "json"), else the text. */
  data: unknown;
  /** Response headers as the server sent them (any letter case). */
  header: Record<string, unknown>;
}

export interface WxRequestOptions {
  url: string;
  method?: HttpMethod;
  data?: string | Record<string, unknown>;
  header?: Record<string, string>;
  timeout?: number;
  dataType?: 'json';
  responseType?: 'text';
  /** Called for every HTTP answer, 4xx and 5xx included. */
  success?: (res: WxRequestSuccess) => void;
  /** Called when there is no HTTP answer (network, timeout, domain not allowed). */
  fail?: (err: { errMsg: string }) => void;
}

export interface WxLoginOptions {
  timeout?: number;
  success?: (res: { code: string }) => void;
  fail?: (err: { errMsg: string }) => void;
}

export interface WxLike {
  login(options: WxLoginOptions): unknown;
  request(options: WxRequestOptions): unknown;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, data: unknown): void;
  removeStorageSync(key: string): void;
}

export function wxLogin(wx: WxLike, timeout?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({
      timeout,
      success: (res) => resolve(res.code),
      fail: (err) => reject(err),
    });
  });
}

export function wxRequest(wx: WxLike, options: WxRequestOptions): Promise<WxRequestSuccess> {
  return new Promise((resolve, reject) => {
    wx.request({
      ...options,
      dataType: 'json',
      responseType: 'text',
      success: (res) => resolve({ statusCode: res.statusCode, data: res.data, header: res.header || {} }),
      fail: (err) => reject(err),
    });
  });
}

/** Header lookup ignoring letter case (HTTP/2 answers arrive lower-cased, HTTP/1.1 ones as sent). */
export function headerValue(header: Record<string, unknown>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(header)) {
    if (key.toLowerCase() === wanted) {
      const v = header[key];
      return v === undefined || v === null ? undefined : String(v);
    }
  }
  return undefined;
}
