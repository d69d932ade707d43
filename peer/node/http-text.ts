// One small HTTP exchange whose answer is text (the topology server's JSON), on node:http.
// Why not fetch: Node's fetch is a second HTTP stack (its own undici) that a peer loads only
// for this, at about 40 ms of CPU on its first request (issue #12); node:http is loaded already.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TextAnswer {
  status: number;
  header(name: string): string | null;
  text: string;
}

export interface TextRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number; // the whole exchange; past it, an Error named TimeoutError
  limit: number; // bytes of answer at most; past it, an Error
}

export function requestText(url: URL, options: TextRequest): Promise<TextAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: options.method, headers: options.headers });
    const timer = setTimeout(() => {
      const err = new Error(`no answer within ${options.timeoutMs} ms`);
      err.name = 'TimeoutError';
      req.destroy(err);
    }, options.timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    req.on('error', fail);
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > options.limit) req.destroy(new Error(`answer larger than ${options.limit} bytes`));
        else chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        const header = (name: string): string | null => {
          const v = res.headers[name.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
        };
        resolve({ status: res.statusCode ?? 0, header, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(options.body);
  });
}
