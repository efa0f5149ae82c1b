import {
  ZAcceptCandidateInvitationBody,
  ZAcceptCandidateInvitationResponse,
  ZAnswer,
  ZCandidateInvitation,
  ZConsentBody,
  ZCreateInterviewBody,
  ZCreateQuestionBody,
  ZIdParams,
  ZInterview,
  ZInterviewQuery,
  ZInterviewSummary,
  ZInviteCandidatesBody,
  ZPositionBody,
  ZQuestion,
  ZQuestionQuery,
  ZQuestionVersion,
  ZRecordingParams,
  ZSessionQuery,
  ZSessionSummary,
  ZSessionView,
  ZTextAnswerBody,
  ZUpdateInterviewBody,
  ZUpdateQuestionBody,
} from '@parley/contracts';
import type { Readable } from 'node:stream';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HttpServer } from '../infra/http/http-server.ts';
import { BEARER, ERROR_RESPONSES } from '../infra/http/route-schemas.ts';
import { AppError } from '../shared/app-error.ts';
import type { InterviewService } from './interview.service.ts';
import type { InvitationService } from './invitation.service.ts';
import { registerMediaRoutes } from './media.routes.ts';
import type { MediaService } from './media.service.ts';
import type { QuestionBankService } from './question-bank.service.ts';
import type { RecordingViews } from './recording-views.ts';
import type { SessionService } from './session.service.ts';

const errors = ERROR_RESPONSES;
const security = BEARER;

export interface InterviewsServices {
  questions: QuestionBankService;
  interviews: InterviewService;
  invitations: InvitationService;
  sessions: SessionService;
}

/** HTTP routes of the interviews context. Services decide who may do what; routes only translate. */
export async function registerInterviewsRoutes(
  app: HttpServer,
  s: InterviewsServices,
  options: { maxRecordingBytes: number; media: MediaService; recordingViews: RecordingViews },
): Promise<void> {
  registerQuestionRoutes(app, s.questions);
  registerInterviewRoutes(app, s.interviews, s.invitations);
  registerSessionRoutes(app, s.sessions);
  registerMediaRoutes(app, options.media, options.recordingViews);
  // Recordings arrive as raw bytes; the parser that hands the stream over is scoped to this route.
  await app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<ZodTypeProvider>();
    scope.addContentTypeParser(/^(audio|video)\//, (_request, payload, done) => done(null, payload));
    scope.put(
      '/api/sessions/:id/answers/:position/recording',
      {
        schema: {
          tags: ['sessions'],
          summary: 'Upload the recording of the current attempt (raw audio/* or video/* body)',
          security,
          params: ZRecordingParams,
          response: { 201: ZAnswer, ...errors },
        },
      },
      async (req, reply) => {
        const type = req.headers['content-type'] ?? '';
        if (!/^(audio|video)\//i.test(type)) {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the recording as an audio/* or video/* body');
        }
        const declared = Number(req.headers['content-length']);
        if (Number.isFinite(declared) && declared > options.maxRecordingBytes) {
          throw new AppError('PAYLOAD_TOO_LARGE', `Recordings are limited to ${options.maxRecordingBytes} bytes`);
        }
        const answer = await s.sessions.uploadRecording(
          req.actor,
          req.params.id,
          req.params.position,
          req.body as Readable,
          type,
        );
        return reply.status(201).send(answer);
      },
    );
  });
}

function registerQuestionRoutes(app: HttpServer, questions: QuestionBankService): void {
  const tags = ['questions'];
  app.post(
    '/api/questions',
    {
      schema: {
        tags,
        summary: 'Add a question with its rubric',
        security,
        body: ZCreateQuestionBody,
        response: { 201: ZQuestion, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await questions.create(req.actor, req.body)),
  );
  app.get(
    '/api/questions',
    {
      schema: {
        tags,
        summary: 'Search the question bank',
        security,
        querystring: ZQuestionQuery,
        response: { 200: z.object({ questions: z.array(ZQuestion) }), ...errors },
      },
    },
    async (req) => ({ questions: await questions.search(req.actor, req.query) }),
  );
  app.get(
    '/api/questions/:id',
    {
      schema: {
        tags,
        summary: 'A question with its newest version',
        security,
        params: ZIdParams,
        response: { 200: ZQuestion, ...errors },
      },
    },
    async (req) => questions.get(req.actor, req.params.id),
  );
  app.patch(
    '/api/questions/:id',
    {
      schema: {
        tags,
        summary: 'Edit a question; a new text or rubric creates a new version',
        security,
        params: ZIdParams,
        body: ZUpdateQuestionBody,
        response: { 200: ZQuestion, ...errors },
      },
    },
    async (req) => questions.update(req.actor, req.params.id, req.body),
  );
  app.get(
    '/api/questions/:id/versions',
    {
      schema: {
        tags,
        summary: 'Every version of a question, newest first',
        security,
        params: ZIdParams,
        response: { 200: z.object({ versions: z.array(ZQuestionVersion) }), ...errors },
      },
    },
    async (req) => ({ versions: await questions.versions(req.actor, req.params.id) }),
  );
  app.post(
    '/api/questions/:id/archive',
    {
      schema: {
        tags,
        summary: 'Archive a question',
        security,
        params: ZIdParams,
        response: { 200: ZQuestion, ...errors },
      },
    },
    async (req) => questions.archive(req.actor, req.params.id),
  );
  app.post(
    '/api/questions/:id/restore',
    {
      schema: {
        tags,
        summary: 'Bring an archived question back',
        security,
        params: ZIdParams,
        response: { 200: ZQuestion, ...errors },
      },
    },
    async (req) => questions.restore(req.actor, req.params.id),
  );
}

function registerInterviewRoutes(app: HttpServer, interviews: InterviewService, invitations: InvitationService): void {
  const tags = ['interviews'];
  app.post(
    '/api/interviews',
    {
      schema: {
        tags,
        summary: 'Create a draft interview',
        security,
        body: ZCreateInterviewBody,
        response: { 201: ZInterview, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await interviews.create(req.actor, req.body)),
  );
  app.get(
    '/api/interviews',
    {
      schema: {
        tags,
        summary: "The organisation's interviews",
        security,
        querystring: ZInterviewQuery,
        response: { 200: z.object({ interviews: z.array(ZInterviewSummary) }), ...errors },
      },
    },
    async (req) => ({ interviews: await interviews.list(req.actor, req.query) }),
  );
  app.get(
    '/api/interviews/:id',
    {
      schema: {
        tags,
        summary: 'An interview with its questions',
        security,
        params: ZIdParams,
        response: { 200: ZInterview, ...errors },
      },
    },
    async (req) => interviews.get(req.actor, req.params.id),
  );
  app.patch(
    '/api/interviews/:id',
    {
      schema: {
        tags,
        summary: 'Edit an interview (questions and settings only while a draft)',
        security,
        params: ZIdParams,
        body: ZUpdateInterviewBody,
        response: { 200: ZInterview, ...errors },
      },
    },
    async (req) => interviews.update(req.actor, req.params.id, req.body),
  );
  app.post(
    '/api/interviews/:id/publish',
    {
      schema: {
        tags,
        summary: 'Publish a draft',
        security,
        params: ZIdParams,
        response: { 200: ZInterview, ...errors },
      },
    },
    async (req) => interviews.publish(req.actor, req.params.id),
  );
  app.post(
    '/api/interviews/:id/archive',
    {
      schema: {
        tags,
        summary: 'Archive an interview',
        security,
        params: ZIdParams,
        response: { 200: ZInterview, ...errors },
      },
    },
    async (req) => interviews.archive(req.actor, req.params.id),
  );

  const invitationTags = ['invitations'];
  const ZInvitations = z.object({ invitations: z.array(ZCandidateInvitation) });
  app.post(
    '/api/interviews/:id/invitations',
    {
      schema: {
        tags: invitationTags,
        summary: 'Invite candidates: each gets a session and a single-use link by e-mail',
        description:
          'Creates the invitations and queues their e-mails; a worker sends them shortly after the answer, ' +
          'with retries. `sentAt` is null until an e-mail has been delivered.',
        security,
        params: ZIdParams,
        body: ZInviteCandidatesBody,
        response: { 201: ZInvitations, ...errors },
      },
    },
    async (req, reply) =>
      reply.status(201).send({ invitations: await invitations.invite(req.actor, req.params.id, req.body) }),
  );
  app.get(
    '/api/interviews/:id/invitations',
    {
      schema: {
        tags: invitationTags,
        summary: 'Invitations to an interview',
        security,
        params: ZIdParams,
        response: { 200: ZInvitations, ...errors },
      },
    },
    async (req) => ({ invitations: await invitations.list(req.actor, req.params.id) }),
  );
  for (const action of ['resend', 'remind', 'revoke'] as const) {
    app.post(
      `/api/invitations/:id/${action}`,
      {
        schema: {
          tags: invitationTags,
          summary: {
            resend: 'Queue a new link with a fresh validity period',
            remind: 'Queue a reminder with a new link',
            revoke: 'Withdraw an invitation',
          }[action],
          description: {
            resend:
              'The previous link stops working at once; the e-mail with the new one is queued and sent by a ' +
              'worker with retries. `sentAt` is null until it has been delivered.',
            remind:
              'The e-mail is queued and sent by a worker with retries; it carries a new link (the previous one ' +
              'stops working then) and sets `remindedAt` when delivered. The validity period is unchanged.',
            revoke: 'The link stops working and the session, which never started, expires.',
          }[action],
          security,
          params: ZIdParams,
          response: { 200: ZCandidateInvitation, ...errors },
        },
      },
      async (req) => invitations[action](req.actor, req.params.id),
    );
  }
  app.post(
    '/api/invitations/accept',
    {
      schema: {
        tags: invitationTags,
        summary: "Redeem a candidate's link for tokens scoped to their session (single use)",
        body: ZAcceptCandidateInvitationBody,
        response: { 200: ZAcceptCandidateInvitationResponse, ...errors },
      },
    },
    async (req) => invitations.accept(req.body),
  );
}

function registerSessionRoutes(app: HttpServer, sessions: SessionService): void {
  const tags = ['sessions'];
  const view = { 200: ZSessionView, ...errors };
  app.get(
    '/api/sessions',
    {
      schema: {
        tags,
        summary: "The organisation's sessions (recruiters)",
        security,
        querystring: ZSessionQuery,
        response: { 200: z.object({ sessions: z.array(ZSessionSummary) }), ...errors },
      },
    },
    async (req) => ({ sessions: await sessions.list(req.actor, req.query) }),
  );
  app.get(
    '/api/sessions/:id',
    {
      schema: {
        tags,
        summary: 'Where the session is, with the remaining time',
        security,
        params: ZIdParams,
        response: view,
      },
    },
    async (req) => sessions.view(req.actor, req.params.id),
  );
  app.get(
    '/api/sessions/:id/answers',
    {
      schema: {
        tags,
        summary: 'Every answer attempt of the session',
        security,
        params: ZIdParams,
        response: { 200: z.object({ answers: z.array(ZAnswer) }), ...errors },
      },
    },
    async (req) => ({ answers: await sessions.answers(req.actor, req.params.id) }),
  );
  app.post(
    '/api/sessions/:id/consent',
    {
      schema: {
        tags,
        summary: 'Acknowledge the AI notice and give or refuse each consent',
        security,
        params: ZIdParams,
        body: ZConsentBody,
        response: view,
      },
    },
    async (req) => sessions.consent(req.actor, req.params.id, req.body, { userAgent: req.headers['user-agent'] }),
  );
  app.post(
    '/api/sessions/:id/start',
    {
      schema: {
        tags,
        summary: 'Start the interview: the first question opens',
        security,
        params: ZIdParams,
        response: view,
      },
    },
    async (req) => sessions.start(req.actor, req.params.id),
  );
  app.post(
    '/api/sessions/:id/begin-answer',
    {
      schema: {
        tags,
        summary: 'End preparation early and start the answer timer',
        security,
        params: ZIdParams,
        body: ZPositionBody,
        response: view,
      },
    },
    async (req) => sessions.beginAnswer(req.actor, req.params.id, req.body.position),
  );
  app.post(
    '/api/sessions/:id/answers/text',
    {
      schema: {
        tags,
        summary: 'Answer the current question by typing',
        security,
        params: ZIdParams,
        body: ZTextAnswerBody,
        response: view,
      },
    },
    async (req) => sessions.submitText(req.actor, req.params.id, req.body.position, req.body.text),
  );
  app.post(
    '/api/sessions/:id/retake',
    {
      schema: {
        tags,
        summary: 'Start another attempt at the current question',
        security,
        params: ZIdParams,
        body: ZPositionBody,
        response: view,
      },
    },
    async (req) => sessions.retake(req.actor, req.params.id, req.body.position),
  );
  app.post(
    '/api/sessions/:id/next',
    {
      schema: {
        tags,
        summary: 'Move on to the next question',
        security,
        params: ZIdParams,
        body: ZPositionBody,
        response: view,
      },
    },
    async (req) => sessions.next(req.actor, req.params.id, req.body.position),
  );
  app.post(
    '/api/sessions/:id/complete',
    { schema: { tags, summary: 'Finish the interview', security, params: ZIdParams, response: view } },
    async (req) => sessions.complete(req.actor, req.params.id),
  );
  app.post(
    '/api/sessions/:id/abandon',
    {
      schema: {
        tags,
        summary: 'Withdraw (candidate) or close (recruiter) an unfinished session',
        security,
        params: ZIdParams,
        response: view,
      },
    },
    async (req) => sessions.abandon(req.actor, req.params.id),
  );
}
