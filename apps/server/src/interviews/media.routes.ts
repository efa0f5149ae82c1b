import { ZAnswerMediaParams, ZErrorBody, ZIdParams, ZMediaQuery, ZSessionRecordings } from '@parley/contracts';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { parseByteRange } from '../infra/http/byte-range.ts';
import type { HttpServer } from '../infra/http/http-server.ts';
import { BEARER, ERROR_RESPONSES } from '../infra/http/route-schemas.ts';
import { AppError } from '../shared/app-error.ts';
import type { MediaObject, MediaService } from './media.service.ts';

const tags = ['recordings'];
/** Either a staff bearer token or the `token` of a media URL. */
const security = [...BEARER, { mediaToken: [] }];

/** Recording playback for staff: the list with media URLs and word timings, and the media itself. */
export function registerMediaRoutes(app: HttpServer, media: MediaService): void {
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
            '`Content-Range: bytes */<size>` for a range outside the file.',
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
        const object = await media.open(req.actor, req.params.answerId, kind, req.query.token);
        return sendRange(reply, object, req.headers.range);
      },
    );
  }
}

function sendRange(reply: FastifyReply, object: MediaObject, rangeHeader: string | undefined): FastifyReply {
  const { bytes, contentType } = object;
  const size = bytes.length;
  // The URL carries a short-lived token: private caches only, and no sniffing of the bytes.
  void reply
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, max-age=300')
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', 'inline');
  const range = parseByteRange(rangeHeader, size);
  if (range.kind === 'unsatisfiable') {
    void reply.header('content-range', `bytes */${size}`);
    throw new AppError('RANGE_NOT_SATISFIABLE', `The recording has ${size} bytes; that range is outside it`, { size });
  }
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (range.kind === 'whole') {
    return reply.status(200).type(contentType).header('content-length', size).send(body);
  }
  return reply
    .status(206)
    .type(contentType)
    .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
    .header('content-length', range.end - range.start + 1)
    .send(body.subarray(range.start, range.end + 1));
}
