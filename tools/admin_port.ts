/**
 * Talking to a daemon's admin port, for the tools: the bearer token when
 * there is one, and an answer that is not 2xx as an AdminError that keeps
 * its status (401 is the token's fault, the rest the daemon's).
 */

export interface AdminPort {
  /** http://127.0.0.1:<admin port> */
  readonly url: string;
  readonly token?: string;
}

export class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function adminRequest(admin: AdminPort, path: string, method = 'GET', signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = admin.token ? { authorization: `Bearer ${admin.token}` } : {};
  const response = await fetch(`${admin.url}${path}`, { method, headers, ...(signal && { signal }) });
  if (!response.ok) {
    // The admin port's errors are {"error": "..."}; anything else is said by its status alone.
    const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
    const said = typeof body?.error === 'string' ? `: ${body.error}` : '';
    throw new AdminError(response.status, `${method} ${path} answered ${response.status}${said}`);
  }
  return response;
}

/** GET `path`, its JSON answer. */
export async function adminJson<T>(admin: AdminPort, path: string, signal?: AbortSignal): Promise<T> {
  return (await (await adminRequest(admin, path, 'GET', signal)).json()) as T;
}
