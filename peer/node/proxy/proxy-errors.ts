// The proxy's own answers when it cannot serve a request: a status and one line of text
// saying what went wrong and what to do, like the CLI's messages.
import type { ServerResponse } from 'node:http';

/** Answers `status` (502 by default) with `message`; once headers are out, cuts the connection instead. */
export function failRequest(res: ServerResponse, message: string, status = 502): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `slurpie proxy: ${message.replace(/[\r\n]+/g, ' ')}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** The whole answer to a CONNECT, written on the raw socket (Node hands CONNECT over as one). */
export function connectRefusal(authority: string): string {
  const body =
    `slurpie proxy: CONNECT tunnels are not supported (${authority.replace(/[^\x21-\x7e]/g, '')}): an https download cannot be ` +
    'swarmed through a tunnel. Ask for http://PROXY/https://host/path instead (the /<url> form).\n';
  return `HTTP/1.1 501 Not Implemented\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
