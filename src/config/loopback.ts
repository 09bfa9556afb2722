/**
 * localhost, 127.x.y.z, [::1]: a test double or a local run on this host, not a network hop. The
 * production rules that want https (WECHAT_API_BASE, PUBLIC_URL) let these use http.
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Whether an absolute URL points at a loopback host (false when it does not parse). */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}
