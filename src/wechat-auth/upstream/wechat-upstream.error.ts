/** Why a WeChat call failed, as seen on the wire. Mapped to API errors in one place (wechat-error-mapping.ts). */
export type UpstreamFailure =
  | 'network' // refused/reset before any response
  | 'timeout'
  | 'http' // non-2xx status
  | 'unparsable' // not JSON, or JSON of the wrong shape
  | 'errcode'; // WeChat answered with a non-zero errcode

export class WechatUpstreamError extends Error {
  constructor(
    readonly failure: UpstreamFailure,
    readonly details: {
      errcode?: number;
      httpStatus?: number;
      rid?: string;
      /** The request may have reached WeChat without its answer reaching us (timeout, reset): the code may be spent. */
      maybeDelivered?: boolean;
    } = {},
  ) {
    // Never WeChat's errmsg: it is upstream text, and may echo inputs.
    super(
      `wechat ${failure}${details.errcode !== undefined ? ` errcode=${details.errcode}` : ''}${details.httpStatus ? ` http=${details.httpStatus}` : ''}`,
    );
    this.name = 'WechatUpstreamError';
  }
}
