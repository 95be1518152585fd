/**
 * A request as the server log records it: without its query string, which may carry a
 * bearer (a Node-RED editor is opened with ?access_token=, as the editor expects) or a
 * one-time code.
 */
export function requestForLog(request: { method: string; url: string; ip?: string }): { method: string; url: string; remoteAddress: string | undefined } {
  return { method: request.method, url: request.url.split('?')[0]!, remoteAddress: request.ip };
}
