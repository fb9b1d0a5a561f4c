/**
 * Answers on uWebSockets.js HTTP responses.
 *
 * A handler must answer before it returns, or attach `onAborted`, or uWS
 * aborts the whole process; an answer given later must be corked, and must
 * not touch a response whose client went away (LIBRARIES.md).
 */
import type { HttpResponse } from 'uWebSockets.js';

export interface Answer {
  readonly status: string;
  readonly body: string | Uint8Array;
  readonly contentType: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const json = (status: string, value: unknown): Answer => ({ status, body: JSON.stringify(value), contentType: 'application/json' });
export const text = (status: string, body: string): Answer => ({ status, body, contentType: 'text/plain; charset=utf-8' });

export function respond(res: HttpResponse, answer: Answer): void {
  res.cork(() => {
    res.writeStatus(answer.status).writeHeader('Content-Type', answer.contentType);
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.writeHeader(name, value);
    res.end(answer.body);
  });
}

/** For an answer that needs an await (metrics): safe against a client that left. */
export function respondLater(res: HttpResponse, answer: Promise<Answer>): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  answer
    .catch((error: unknown) => text('500 Internal Server Error', `${(error as Error).message}\n`))
    .then((settled) => {
      if (!aborted) respond(res, settled);
    });
}
