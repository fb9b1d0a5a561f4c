/**
 * One websocket upgrade request, written by hand with node:http so that a
 * spec controls every header (a wrong version, no key, an Origin), and
 * reads the server's answer whatever it is: the 101's headers, or a
 * refusal's status, headers and body.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';

export interface UpgradeAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** A refusal's body; '' for a 101. */
  readonly body: string;
}

/** `headers` are added to (or, set to undefined, removed from) a valid RFC 6455 request. */
export function upgradeRequest(url: string, headers: Readonly<Record<string, string | undefined>> = {}): Promise<UpgradeAnswer> {
  const all: Record<string, string | undefined> = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    ...headers,
  };
  const sent = Object.fromEntries(Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return new Promise((resolve, reject) => {
    const request = http.request(url.replace(/^ws/, 'http'), { headers: sent });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' });
    });
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}
