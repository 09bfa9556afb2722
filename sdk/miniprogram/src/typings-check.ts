/**
 * Compile-time only (built with the SDK's tsconfig, which loads miniprogram-api-typings): WeChat's typed `wx`
 * must satisfy the structural `WxLike` the client is written against, and the options the client passes must
 * be options `wx.request` / `wx.login` accept. A change on either side that breaks the other fails the build.
 *
 * The one exception is PATCH: `wx.request` has no PATCH (its methods are OPTIONS GET HEAD POST PUT DELETE
 * TRACE CONNECT), while uni-app's and Taro's H5 targets have it. Only `updateProfile` uses it.
 */
import type { HttpMethod, WxLike, WxLoginOptions, WxRequestOptions } from './wx';

type Assert<T extends true> = T;

type WxMethod = Exclude<HttpMethod, 'PATCH'>;
type WxRequestOptionsWithoutPatch = Omit<WxRequestOptions, 'method'> & { method?: WxMethod };
interface WxLikeWithoutPatch extends Omit<WxLike, 'request'> {
  request(options: WxRequestOptionsWithoutPatch): unknown;
}

export type WxIsWxLike = Assert<WechatMiniprogram.Wx extends WxLikeWithoutPatch ? true : false>;
export type RequestOptionsFit = Assert<
  WxRequestOptionsWithoutPatch extends WechatMiniprogram.RequestOption ? true : false
>;
export type LoginOptionsFit = Assert<WxLoginOptions extends WechatMiniprogram.LoginOption ? true : false>;
/** PATCH really is missing from wx.request: if WeChat adds it, this fails and the README note can go. */
export type WxHasNoPatch = Assert<
  'PATCH' extends NonNullable<WechatMiniprogram.RequestOption['method']> ? false : true
>;
