import { ZAnswerMediaParams, ZErrorBody, ZIdParams, ZMediaQuery, ZSessionRecordings } from '@parley/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { HttpServer } from '../infra/http/http-server.ts';
import { BEARER, ERROR_RESPONSES } from '../infra/http/route-schemas.ts';
import { AppError } from '../shared/app-error.ts';
import type { MediaContent, MediaService } from './media.service.ts';
import type { RecordingViews } from './recording-views.ts';

const tags = ['recordings'];
/** Either a staff bearer token or the `token` of a media URL. */
const security = [...BEARER, { mediaToken: [] }];

/**
 * Recording playback for staff: the list with media URLs and word timings, and the media itself,
 * whose first byte request per URL is audited (`RecordingViews`).
 */
export function registerMediaRoutes(app: HttpServer, media: MediaService, views: RecordingViews): void {
  app.get(
    '/api/sessions/:id/recordings',
    {
      schema: {
        tags,
        summary: 'The recorded answers of a session, with word timings and short-lived media URLs (staff)',
        description:
          'Each recording has a `url` (and a `posterUrl` once processed) that works without an Authorization ' +
          'header until `urlsExpireAt`, so a `<video>` element can stream and seek it; list again for fresh URLs.',
        security: BEARER,
        params: ZIdParams,
        response: { 200: ZSessionRecordings, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      return media.listRecordings(req.actor, req.params.id);
    },
  );
  for (const kind of ['recording', 'poster'] as const) {
    app.get(
      `/api/answers/:answerId/${kind}`,
      {
        schema: {
          tags,
          summary:
            kind === 'recording'
              ? "An answer's recording: the transcoded MP4 once ready, else the upload as it arrived (staff)"
              : "The poster image of an answer's recording (staff)",
          description:
            'Authorised by a staff bearer token or by the `token` of a URL from the recordings list. Honours ' +
            '`Range: bytes=…` (one range): **206** with `Content-Range`; **416** `RANGE_NOT_SATISFIABLE` with ' +
            '`Content-Range: bytes */<size>` for a range outside the file. The first request made with a media URL ' +
            '(with a bearer token: the first of each staff member per answer while a media URL would live) writes `recording.viewed` ' +
            'to the audit log; the requests after it write nothing.',
          security,
          params: ZAnswerMediaParams,
          querystring: ZMediaQuery,
          response: {
            200: z.any().describe(kind === 'recording' ? 'video/mp4, video/webm or audio/*' : 'image/jpeg'),
            206: z.any().describe('The requested byte range'),
            416: ZErrorBody,
            ...ERROR_RESPONSES,
          },
        },
      },
      async (req, reply) => {
        const content = await media.read(req.actor, req.params.answerId, kind, req.headers.range, req.query.token);
        // A 416 sends nothing of the recording, so it is not a view.
        if (content.range.kind !== 'unsatisfiable') {
          try {
            await views.record(req.actor, req.params.answerId, req.query.token);
          } catch (err) {
            content.body.destroy();
            throw err;
          }
        }
        return sendRange(req, reply, content);
      },
    );
  }
}

function sendRange(req: FastifyRequest, reply: FastifyReply, content: MediaContent): FastifyReply {
  const { size, contentType, range } = content;
  // The URL carries a short-lived token: private caches only, and no sniffing of the bytes.
  void reply
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, max-age=300')
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', 'inline');
  if (range.kind === 'unsatisfiable') {
    content.body.destroy();
    void reply.header('content-range', `bytes */${size}`);
    throw new AppError('RANGE_NOT_SATISFIABLE', `The recording has ${size} bytes; that range is outside it`, { size });
  }
  // The body is read (fetched and decrypted) as it is sent. Fastify drains the body of a HEAD
  // request to discard it, so a HEAD gets an empty stream instead.
  let body = content.body;
  if (req.method === 'HEAD') {
    body.destroy();
    body = Readable.from([]);
  }
  if (range.kind === 'whole') {
    return reply.status(200).type(contentType).header('content-length', size).send(body);
  }
  return reply
    .status(206)
    .type(contentType)
    .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
    .header('content-length', range.end - range.start + 1)
    .send(body);
}
