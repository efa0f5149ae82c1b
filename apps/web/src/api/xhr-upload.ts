import type { UploadTransport } from './api-client.ts';

/** The browser's upload transport: XMLHttpRequest, because fetch cannot report upload progress. */
export const xhrUpload: UploadTransport = (request) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', request.url);
    for (const [name, value] of Object.entries(request.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => request.onProgress?.(e.loaded, e.lengthComputable ? e.total : request.body.size);
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText) as unknown;
      } catch {
        // Not JSON: keep the text.
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error('network error during upload'));
    xhr.ontimeout = () => reject(new Error('upload timed out'));
    xhr.onabort = () => reject(new DOMException('upload aborted', 'AbortError'));
    request.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(request.body);
  });
