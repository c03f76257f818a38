// How the SDK talks HTTP: an injected transport interface (tests pass their own), and the
// default implementation on the global fetch with a per-request timeout.

export interface HttpRequest {
  /** host:port or http://host:port of one node's API. */
  readonly endpoint: string;
  readonly method: 'GET' | 'POST';
  /** Path and query, already URL-encoded. */
  readonly path: string;
  readonly body?: unknown;
  readonly timeoutMs: number;
}

export type HttpAnswer =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly retryAfterMs?: number;
      readonly body: unknown;
    }
  /**
   * No HTTP answer. `sent: false` when the request certainly never reached a server (refused
   * connection, unknown host): nothing can have been applied. Otherwise it may have been.
   */
  | { readonly kind: 'failed'; readonly sent: boolean; readonly reason: string };

export interface HttpTransport {
  request(request: HttpRequest): Promise<HttpAnswer>;
}

/** Error codes of a connection that never carried the request. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function endpointUrl(endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint.replace(/\/+$/, '') : `http://${endpoint}`;
}

function failureCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown; errors?: { code?: unknown }[] } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  const first = cause?.errors?.[0]?.code;
  return typeof first === 'string' ? first : undefined;
}

/** The default transport: `fetch` with JSON bodies; Retry-After is read in seconds. */
export function fetchTransport(): HttpTransport {
  return {
    async request(request) {
      try {
        const response = await fetch(`${endpointUrl(request.endpoint)}${request.path}`, {
          method: request.method,
          signal: AbortSignal.timeout(request.timeoutMs),
          ...(request.body === undefined
            ? {}
            : { body: JSON.stringify(request.body), headers: { 'content-type': 'application/json' } }),
        });
        const text = await response.text();
        let body: unknown = text;
        if ((response.headers.get('content-type') ?? '').includes('json') && text.length > 0) {
          body = JSON.parse(text) as unknown;
        }
        const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
        return {
          kind: 'response',
          status: response.status,
          body,
          ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}),
        };
      } catch (error: unknown) {
        const code = failureCode(error);
        return {
          kind: 'failed',
          sent: code === undefined || !notSentCodes.has(code),
          reason: code ?? (error instanceof Error ? error.message : String(error)),
        };
      }
    },
  };
}
