import { ApiClient } from './api/api-client.ts';
import { SIGNED_OUT_CODES, ApiError } from './api/errors.ts';
import { WebStorageTokenStore } from './api/token-store.ts';
import { xhrUpload } from './api/xhr-upload.ts';
import { RealtimeClient, browserSocketFactory, realtimeUrl } from './realtime/realtime-client.ts';

/** Staff keep their sign-in across tabs and restarts; a candidate's lives in its own key. */
export const STAFF_TOKENS_KEY = 'parley.staff.tokens';
export const CANDIDATE_TOKENS_KEY = 'parley.candidate.tokens';
export const CANDIDATE_SESSION_KEY = 'parley.candidate.session';

export function createApi(key: string, onSignedOut?: (error: ApiError) => void): ApiClient {
  return new ApiClient({
    fetch: (input, init) => window.fetch(input, init),
    tokens: new WebStorageTokenStore(window.localStorage, key),
    upload: xhrUpload,
    onSignedOut,
  });
}

/** The one WebSocket of a page, authenticated with the given API client's tokens. */
export function createRealtime(api: ApiClient): RealtimeClient {
  const client = new RealtimeClient({
    url: realtimeUrl(window.location),
    socketFactory: browserSocketFactory,
    getToken: ({ force }) => api.accessToken({ force }),
    isFatalAuthError: (e) => e instanceof ApiError && SIGNED_OUT_CODES.has(e.code),
  });
  return client;
}

/** Wires the browser's online/offline signal to the realtime client's reconnect. */
export function reconnectWhenOnline(client: RealtimeClient): () => void {
  const online = () => client.reconnectNow();
  window.addEventListener('online', online);
  return () => window.removeEventListener('online', online);
}
