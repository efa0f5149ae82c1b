import type { ZInterviewStatus } from '@parley/contracts';
import {
  ZAcceptCandidateInvitationResponse,
  ZAnswer,
  ZAuditEntry,
  ZCandidateFeedback,
  ZCandidateInvitation,
  ZInterview,
  ZInterviewSummary,
  ZLlmKey,
  ZOrganization,
  ZQuestion,
  ZQuestionVersion,
  ZReportRendering,
  ZSessionRecordings,
  ZSessionReport,
  ZSessionSummary,
  ZSessionView,
  ZStaffInvitation,
  ZTokenPair,
  ZUser,
  type TAddLlmKeyBody,
  type TAnswer,
  type TCandidateFeedback,
  type TCandidateInvitation,
  type TConsentBody,
  type TCreateInterviewBody,
  type TCreateQuestionBody,
  type TInterview,
  type TInviteCandidatesBody,
  type TLlmKey,
  type TOrganization,
  type TQuestion,
  type TQuestionVersion,
  type TSessionRecordings,
  type TSessionReport,
  type TSessionStatus,
  type TSessionSummary,
  type TSessionView,
  type TStaffInvitation,
  type TTokenPair,
  type TUpdateInterviewBody,
  type TUpdateOrganizationBody,
  type TUpdateQuestionBody,
  type TUser,
} from '@parley/contracts';
import { ApiError, SIGNED_OUT_CODES, errorFromResponse, isRecord } from './errors.ts';
import type { TokenStore } from './token-store.ts';

/** Anything with zod's `parse`; the web app gets its schemas from the contracts only. */
export interface Parser<T> {
  parse(data: unknown): T;
}
export type Infer<P> = P extends { parse(data: unknown): infer T } ? T : never;

export type TInterviewSummary = Infer<typeof ZInterviewSummary>;
export type TAuditEntry = Infer<typeof ZAuditEntry>;
export type TStaffRole = 'admin' | 'recruiter';
export type TInterviewStatus = Infer<typeof ZInterviewStatus>;

/** `{ [key]: T[] }` → `T[]`, each element parsed. */
export function listOf<T>(key: string, item: Parser<T>): Parser<T[]> {
  return {
    parse(data) {
      const list = isRecord(data) ? data[key] : undefined;
      if (!Array.isArray(list)) throw new Error(`expected { ${key}: [...] }`);
      return list.map((x) => item.parse(x));
    },
  };
}

const ZNothing: Parser<undefined> = { parse: () => undefined };

export interface UploadRequest {
  url: string;
  headers: Record<string, string>;
  body: Blob;
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}
/** Sends a PUT with a body and reports progress (fetch cannot report upload progress). */
export type UploadTransport = (request: UploadRequest) => Promise<{ status: number; body: unknown }>;

export interface ApiClientOptions {
  fetch: typeof fetch;
  tokens: TokenStore;
  upload?: UploadTransport;
  baseUrl?: string;
  now?: () => number;
  /** Called when the stored sign-in turned out to be unusable and was cleared. */
  onSignedOut?: (error: ApiError) => void;
}

type Query = Record<string, string | number | boolean | undefined | null>;

interface RequestOptions<T> {
  parser: Parser<T>;
  body?: unknown;
  query?: Query;
  /** Send the access token (default true). */
  auth?: boolean;
  signal?: AbortSignal;
}

/** An access token this close to expiry is refreshed before use. */
const REFRESH_AHEAD_MS = 30_000;

/**
 * The typed HTTP client: every response is parsed with its contract schema, every error
 * becomes an ApiError with a code, and access tokens are refreshed (rotating the refresh
 * token) ahead of expiry or once after a 401.
 */
export class ApiClient {
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private refreshing: Promise<TTokenPair> | null = null;

  constructor(private readonly options: ApiClientOptions) {
    // Bound so that `window.fetch` keeps its receiver.
    this.fetchImpl = (input, init) => options.fetch(input, init);
    this.now = options.now ?? Date.now;
  }

  get signedIn(): boolean {
    return this.options.tokens.get() !== null;
  }

  // ------------------------------------------------------------------------------------------
  // Core

  async request<T>(method: string, path: string, opts: RequestOptions<T>): Promise<T> {
    const auth = opts.auth ?? true;
    const url = this.url(path, opts.query);
    const send = async (token: string | null) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      try {
        return await this.fetchImpl(url, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: opts.signal,
        });
      } catch (err) {
        if (err instanceof DOMException && err.name === 'AbortError') throw new ApiError('ABORTED', 'aborted', 0);
        throw new ApiError('NETWORK_ERROR', err instanceof Error ? err.message : String(err), 0);
      }
    };
    let response = await send(auth ? await this.accessToken() : null);
    if (auth && response.status === 401) {
      const error = errorFromResponse(401, await readJson(response));
      if (error.code !== 'TOKEN_EXPIRED' && error.code !== 'UNAUTHENTICATED') throw this.signedOut(error);
      response = await send(await this.accessToken({ force: true }));
    }
    const body = await readJson(response);
    if (!response.ok) {
      const error = errorFromResponse(response.status, body);
      throw auth && response.status === 401 ? this.signedOut(error) : error;
    }
    return parseWith(opts.parser, body, response.status);
  }

  /** A usable access token, refreshed first when it is about to expire; throws when signed out. */
  async accessToken(opts: { force?: boolean } = {}): Promise<string> {
    const tokens = this.options.tokens.get();
    if (!tokens) throw new ApiError('UNAUTHENTICATED', 'not signed in', 401);
    const expiresAt = Date.parse(tokens.accessTokenExpiresAt);
    if (!opts.force && expiresAt - this.now() > REFRESH_AHEAD_MS) return tokens.accessToken;
    return (await this.refresh(tokens)).accessToken;
  }

  /** Rotates the refresh token; concurrent callers share one request. */
  private refresh(stale: TTokenPair): Promise<TTokenPair> {
    this.refreshing ??= (async () => {
      // Another tab may have rotated the pair already: its refresh token is the live one.
      const current = this.options.tokens.get();
      if (current && current.refreshToken !== stale.refreshToken) return current;
      const fresh = await this.request('POST', '/api/auth/refresh', {
        auth: false,
        parser: ZTokenPair,
        body: { refreshToken: stale.refreshToken },
      }).catch((err: unknown) => {
        if (err instanceof ApiError && (SIGNED_OUT_CODES.has(err.code) || err.status === 401)) {
          throw this.signedOut(err);
        }
        throw err;
      });
      this.options.tokens.set(fresh);
      return fresh;
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private signedOut(error: ApiError): ApiError {
    if (this.options.tokens.get() !== null) {
      this.options.tokens.set(null);
      this.options.onSignedOut?.(error);
    }
    return error;
  }

  private url(path: string, query?: Query): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.options.baseUrl ?? ''}${path}${qs ? `?${qs}` : ''}`;
  }

  // ------------------------------------------------------------------------------------------
  // Accounts

  async signIn(email: string, password: string): Promise<void> {
    const tokens = await this.request('POST', '/api/auth/sign-in', {
      auth: false,
      parser: ZTokenPair,
      body: { email, password },
    });
    this.options.tokens.set(tokens);
  }

  async signUp(body: { orgName: string; name: string; email: string; password: string }): Promise<void> {
    this.options.tokens.set(await this.request('POST', '/api/auth/sign-up', { auth: false, parser: ZTokenPair, body }));
  }

  async acceptStaffInvitation(body: { token: string; password: string; name?: string }): Promise<void> {
    this.options.tokens.set(
      await this.request('POST', '/api/auth/accept-invitation', { auth: false, parser: ZTokenPair, body }),
    );
  }

  /** Revokes this device's token family; the local sign-in is cleared even if the server is unreachable. */
  async signOut(): Promise<void> {
    const tokens = this.options.tokens.get();
    this.options.tokens.set(null);
    if (!tokens) return;
    await this.request('POST', '/api/auth/sign-out', {
      auth: false,
      parser: ZNothing,
      body: { refreshToken: tokens.refreshToken },
    }).catch(() => undefined);
  }

  me(): Promise<TUser> {
    return this.request('GET', '/api/me', { parser: ZUser });
  }

  listUsers(): Promise<TUser[]> {
    return this.request('GET', '/api/users', { parser: listOf('users', ZUser) });
  }

  /** Creates the invitation and queues its e-mail (`sentAt` stays null until a worker delivers it). */
  inviteStaff(body: { email: string; name: string; role: TStaffRole }): Promise<TStaffInvitation> {
    return this.request('POST', '/api/users/invitations', { parser: ZStaffInvitation, body });
  }

  listStaffInvitations(): Promise<TStaffInvitation[]> {
    return this.request('GET', '/api/users/invitations', { parser: listOf('invitations', ZStaffInvitation) });
  }

  staffInvitationAction(id: string, action: 'resend' | 'revoke'): Promise<TStaffInvitation> {
    return this.request('POST', `/api/users/invitations/${enc(id)}/${action}`, { parser: ZStaffInvitation });
  }

  changeRole(userId: string, role: TStaffRole): Promise<TUser> {
    return this.request('PATCH', `/api/users/${enc(userId)}/role`, { parser: ZUser, body: { role } });
  }

  listAudit(query: { action?: string; limit?: number; before?: string } = {}): Promise<TAuditEntry[]> {
    return this.request('GET', '/api/audit', { parser: listOf('entries', ZAuditEntry), query });
  }

  // ------------------------------------------------------------------------------------------
  // Organisation (admin)

  organization(): Promise<TOrganization> {
    return this.request('GET', '/api/admin/organization', { parser: ZOrganization });
  }
  updateOrganization(body: TUpdateOrganizationBody): Promise<TOrganization> {
    return this.request('PATCH', '/api/admin/organization', { parser: ZOrganization, body });
  }

  listLlmKeys(): Promise<TLlmKey[]> {
    return this.request('GET', '/api/admin/llm-keys', { parser: listOf('keys', ZLlmKey) });
  }
  /** Fields with defaults on the server (label, priority, rate limit) may be left out. */
  addLlmKey(body: Pick<TAddLlmKeyBody, 'provider' | 'key'> & Partial<TAddLlmKeyBody>): Promise<TLlmKey> {
    return this.request('POST', '/api/admin/llm-keys', { parser: ZLlmKey, body });
  }
  setLlmKeyActive(id: string, active: boolean): Promise<TLlmKey> {
    return this.request('POST', `/api/admin/llm-keys/${enc(id)}/${active ? 'enable' : 'disable'}`, { parser: ZLlmKey });
  }
  deleteLlmKey(id: string): Promise<void> {
    return this.request('DELETE', `/api/admin/llm-keys/${enc(id)}`, { parser: ZNothing });
  }

  // ------------------------------------------------------------------------------------------
  // Question bank

  listQuestions(
    query: { q?: string; category?: string; tag?: string; archived?: boolean; limit?: number; offset?: number } = {},
  ): Promise<TQuestion[]> {
    return this.request('GET', '/api/questions', { parser: listOf('questions', ZQuestion), query });
  }
  getQuestion(id: string): Promise<TQuestion> {
    return this.request('GET', `/api/questions/${enc(id)}`, { parser: ZQuestion });
  }
  createQuestion(body: TCreateQuestionBody): Promise<TQuestion> {
    return this.request('POST', '/api/questions', { parser: ZQuestion, body });
  }
  updateQuestion(id: string, body: TUpdateQuestionBody): Promise<TQuestion> {
    return this.request('PATCH', `/api/questions/${enc(id)}`, { parser: ZQuestion, body });
  }
  questionVersions(id: string): Promise<TQuestionVersion[]> {
    return this.request('GET', `/api/questions/${enc(id)}/versions`, { parser: listOf('versions', ZQuestionVersion) });
  }
  archiveQuestion(id: string): Promise<TQuestion> {
    return this.request('POST', `/api/questions/${enc(id)}/archive`, { parser: ZQuestion });
  }
  restoreQuestion(id: string): Promise<TQuestion> {
    return this.request('POST', `/api/questions/${enc(id)}/restore`, { parser: ZQuestion });
  }

  // ------------------------------------------------------------------------------------------
  // Interviews and invitations

  listInterviews(
    query: { status?: TInterviewStatus; limit?: number; offset?: number } = {},
  ): Promise<TInterviewSummary[]> {
    return this.request('GET', '/api/interviews', { parser: listOf('interviews', ZInterviewSummary), query });
  }
  getInterview(id: string): Promise<TInterview> {
    return this.request('GET', `/api/interviews/${enc(id)}`, { parser: ZInterview });
  }
  createInterview(body: TCreateInterviewBody): Promise<TInterview> {
    return this.request('POST', '/api/interviews', { parser: ZInterview, body });
  }
  updateInterview(id: string, body: TUpdateInterviewBody): Promise<TInterview> {
    return this.request('PATCH', `/api/interviews/${enc(id)}`, { parser: ZInterview, body });
  }
  publishInterview(id: string): Promise<TInterview> {
    return this.request('POST', `/api/interviews/${enc(id)}/publish`, { parser: ZInterview });
  }
  archiveInterview(id: string): Promise<TInterview> {
    return this.request('POST', `/api/interviews/${enc(id)}/archive`, { parser: ZInterview });
  }
  inviteCandidates(interviewId: string, body: TInviteCandidatesBody): Promise<TCandidateInvitation[]> {
    return this.request('POST', `/api/interviews/${enc(interviewId)}/invitations`, {
      parser: listOf('invitations', ZCandidateInvitation),
      body,
    });
  }
  listInvitations(interviewId: string): Promise<TCandidateInvitation[]> {
    return this.request('GET', `/api/interviews/${enc(interviewId)}/invitations`, {
      parser: listOf('invitations', ZCandidateInvitation),
    });
  }
  invitationAction(id: string, action: 'resend' | 'remind' | 'revoke'): Promise<TCandidateInvitation> {
    return this.request('POST', `/api/invitations/${enc(id)}/${action}`, { parser: ZCandidateInvitation });
  }

  /** Redeems a candidate's single-use link; the tokens it returns are stored. */
  async acceptCandidateInvitation(token: string): Promise<{ sessionId: string }> {
    const { sessionId, tokens } = await this.request('POST', '/api/invitations/accept', {
      auth: false,
      parser: ZAcceptCandidateInvitationResponse,
      body: { token },
    });
    this.options.tokens.set(tokens);
    return { sessionId };
  }

  // ------------------------------------------------------------------------------------------
  // Sessions

  listSessions(
    query: { status?: TSessionStatus; interviewId?: string; limit?: number; offset?: number } = {},
  ): Promise<TSessionSummary[]> {
    return this.request('GET', '/api/sessions', { parser: listOf('sessions', ZSessionSummary), query });
  }
  getSession(id: string): Promise<TSessionView> {
    return this.request('GET', `/api/sessions/${enc(id)}`, { parser: ZSessionView });
  }
  sessionAnswers(id: string): Promise<TAnswer[]> {
    return this.request('GET', `/api/sessions/${enc(id)}/answers`, { parser: listOf('answers', ZAnswer) });
  }
  consent(id: string, body: TConsentBody): Promise<TSessionView> {
    return this.request('POST', `/api/sessions/${enc(id)}/consent`, { parser: ZSessionView, body });
  }
  startSession(id: string): Promise<TSessionView> {
    return this.request('POST', `/api/sessions/${enc(id)}/start`, { parser: ZSessionView });
  }
  beginAnswer(id: string, position: number): Promise<TSessionView> {
    return this.request('POST', `/api/sessions/${enc(id)}/begin-answer`, { parser: ZSessionView, body: { position } });
  }
  submitText(id: string, position: number, text: string): Promise<TSessionView> {
    return this.request('POST', `/api/sessions/${enc(id)}/answers/text`, {
      parser: ZSessionView,
      body: { position, text },
    });
  }
  retake(id: string, position: number): Promise<TSessionView> {
    return this.request('POST', `/api/sessions/${enc(id)}/retake`, { parser: ZSessionView, body: { position } });
  }
  next(id: string, position: number): Promise<TSessionView> {
    return this.request('POST', `/api/sessions/${enc(id)}/next`, { parser: ZSessionView, body: { position } });
  }
  complete(id: string): Promise<TSessionView> {
    return this.request('POST', `/api/sessions/${enc(id)}/complete`, { parser: ZSessionView });
  }
  abandon(id: string): Promise<TSessionView> {
    return this.request('POST', `/api/sessions/${enc(id)}/abandon`, { parser: ZSessionView });
  }

  /** Uploads one answer recording, reporting progress; refreshes the token once on a 401. */
  async uploadRecording(
    sessionId: string,
    position: number,
    recording: Blob,
    opts: { onProgress?: (loaded: number, total: number) => void; signal?: AbortSignal } = {},
  ): Promise<TAnswer> {
    const upload = this.options.upload;
    if (!upload) throw new Error('ApiClient was built without an upload transport');
    const url = this.url(`/api/sessions/${enc(sessionId)}/answers/${position}/recording`);
    const send = async (token: string) => {
      try {
        return await upload({
          url,
          body: recording,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': recording.type || 'video/webm',
            accept: 'application/json',
          },
          onProgress: opts.onProgress,
          signal: opts.signal,
        });
      } catch (err) {
        if (err instanceof ApiError) throw err;
        if (err instanceof DOMException && err.name === 'AbortError') throw new ApiError('ABORTED', 'aborted', 0);
        throw new ApiError('NETWORK_ERROR', err instanceof Error ? err.message : String(err), 0);
      }
    };
    let response = await send(await this.accessToken());
    if (response.status === 401) response = await send(await this.accessToken({ force: true }));
    if (response.status < 200 || response.status >= 300) {
      const error = errorFromResponse(response.status, response.body);
      throw response.status === 401 ? this.signedOut(error) : error;
    }
    return parseWith(ZAnswer, response.body, response.status);
  }

  // ------------------------------------------------------------------------------------------
  // Reports

  /** Recorded answers with word timings and media URLs a `<video>` can stream without headers. */
  recordings(sessionId: string): Promise<TSessionRecordings> {
    return this.request('GET', `/api/sessions/${enc(sessionId)}/recordings`, { parser: ZSessionRecordings });
  }
  report(sessionId: string): Promise<TSessionReport> {
    return this.request('GET', `/api/sessions/${enc(sessionId)}/report`, { parser: ZSessionReport });
  }
  overrideScore(sessionId: string, scoreId: string, body: { score: number; reason: string }): Promise<TSessionReport> {
    return this.request('POST', `/api/sessions/${enc(sessionId)}/scores/${enc(scoreId)}/override`, {
      parser: ZSessionReport,
      body,
    });
  }
  /** The candidate's feedback: staff see it at any time, the candidate once it is released. */
  feedback(sessionId: string): Promise<TCandidateFeedback> {
    return this.request('GET', `/api/sessions/${enc(sessionId)}/feedback`, { parser: ZCandidateFeedback });
  }
  /** The candidate's own feedback; null until a recruiter releases it (the server answers 409 until then). */
  async releasedFeedback(sessionId: string): Promise<TCandidateFeedback | null> {
    try {
      return await this.feedback(sessionId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && isRecord(err.details)) {
        if (err.details.reason === 'feedback_not_released') return null;
      }
      throw err;
    }
  }
  releaseFeedback(sessionId: string): Promise<TCandidateFeedback> {
    return this.request('POST', `/api/sessions/${enc(sessionId)}/feedback/release`, { parser: ZCandidateFeedback });
  }
  /**
   * The report as a PDF file. A worker prints it; until the PDF of the current report is stored
   * the server answers 202 with `Retry-After`, and this waits and asks again, up to `maxWaitMs`.
   */
  async reportPdf(sessionId: string, opts: { maxWaitMs?: number; signal?: AbortSignal } = {}): Promise<Blob> {
    const url = this.url(`/api/sessions/${enc(sessionId)}/report.pdf`);
    const get = async (token: string) =>
      this.fetchImpl(url, {
        headers: { accept: 'application/pdf', authorization: `Bearer ${token}` },
        signal: opts.signal,
      }).catch((err: unknown) => {
        if (err instanceof DOMException && err.name === 'AbortError') throw new ApiError('ABORTED', 'aborted', 0);
        throw new ApiError('NETWORK_ERROR', err instanceof Error ? err.message : String(err), 0);
      });
    const deadline = this.now() + (opts.maxWaitMs ?? 180_000);
    for (;;) {
      let response = await get(await this.accessToken());
      if (response.status === 401) response = await get(await this.accessToken({ force: true }));
      if (response.status !== 202) {
        if (!response.ok) throw errorFromResponse(response.status, await readJson(response));
        return response.blob();
      }
      const rendering = ZReportRendering.safeParse(await readJson(response));
      const seconds = Number(response.headers.get('retry-after')) || (rendering.data?.retryAfterSeconds ?? 2);
      const waitMs = Math.min(Math.max(seconds, 1), 30) * 1000;
      if (this.now() + waitMs > deadline) {
        throw new ApiError('SERVICE_UNAVAILABLE', 'The PDF is still being printed; try again later', 202);
      }
      await sleep(waitMs, opts.signal);
    }
  }
  /** The printable report page, as HTML text. */
  reportHtml(sessionId: string): Promise<string> {
    return this.request('GET', `/api/sessions/${enc(sessionId)}/report/html`, {
      parser: { parse: (d) => (typeof d === 'string' ? d : JSON.stringify(d)) },
    });
  }
}

const enc = encodeURIComponent;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ApiError('ABORTED', 'aborted', 0));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new ApiError('ABORTED', 'aborted', 0));
      },
      { once: true },
    );
  });
}

async function readJson(response: Response): Promise<unknown> {
  if (response.status === 204) return undefined;
  const text = await response.text().catch(() => '');
  if (!text) return undefined;
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function parseWith<T>(parser: Parser<T>, body: unknown, status: number): T {
  try {
    return parser.parse(body);
  } catch (err) {
    throw new ApiError('BAD_RESPONSE', err instanceof Error ? err.message : String(err), status);
  }
}
