/**
 * Whether the agent whose admin server is at `adminUrl` (`http://127.0.0.1:9090`) is ready: `GET /readyz`
 * answered 200 within `timeoutMs`. Anything else (refused, 503, timeout) is "not ready".
 */
export async function agentReady(
  adminUrl: string,
  options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<boolean> {
  const url = new URL('/readyz', adminUrl);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 2000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await fetch(url, { signal, redirect: 'error' });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}
