import {
  ZAddLlmKeyBody,
  ZCandidateFeedback,
  ZIdParams,
  ZLlmKey,
  ZOverrideScoreBody,
  ZReportRendering,
  ZSessionReport,
} from '@parley/contracts';
import { z } from 'zod';
import type { HttpServer } from '../infra/http/http-server.ts';
import { BEARER, ERROR_RESPONSES } from '../infra/http/route-schemas.ts';
import { isAppError } from '../shared/app-error.ts';
import type { ApiKeysService } from './keys/api-keys.service.ts';
import { renderReportHtml } from './reports/render-report-html.ts';
import type { ReportService } from './reports/report.service.ts';

const errors = ERROR_RESPONSES;
const security = BEARER;
const ZScoreParams = z.strictObject({ id: z.uuid(), scoreId: z.uuid() });

/** HTTP routes of the scoring context. Services decide who may do what; routes only translate. */
export function registerScoringRoutes(app: HttpServer, s: { reports: ReportService; keys: ApiKeysService }): void {
  app.get(
    '/api/sessions/:id/report',
    {
      schema: {
        tags: ['reports'],
        summary: 'The recruiter report: scores with evidence, provenance, video insights apart from the score',
        security,
        params: ZIdParams,
        response: { 200: ZSessionReport, ...errors },
      },
    },
    async (req) => s.reports.report(req.actor, req.params.id),
  );
  app.get(
    '/api/sessions/:id/report/html',
    {
      schema: {
        tags: ['reports'],
        summary: 'The recruiter report as a printable HTML page',
        security,
        params: ZIdParams,
        response: { 200: z.string(), ...errors },
      },
    },
    async (req, reply) => {
      const html = renderReportHtml(await s.reports.report(req.actor, req.params.id));
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
    },
  );
  app.get(
    '/api/sessions/:id/report.pdf',
    {
      schema: {
        tags: ['reports'],
        summary: 'The recruiter report as PDF, printed by a worker and served from object storage',
        description:
          'Printing happens in the `report.rendering` job, never on this request: after scoring, after an ' +
          'override, or when this route finds no stored PDF of the current report. **200**: the PDF of the ' +
          'current report. **202** (`Retry-After` header, seconds): it is being printed; ask again then. ' +
          '**503** `REPORT_RENDER_FAILED` (`Retry-After`): printing failed; it is requested again after the ' +
          'cool-down.',
        security,
        params: ZIdParams,
        response: {
          200: z.any().describe('application/pdf'),
          202: ZReportRendering.describe('Being printed: ask again after Retry-After seconds'),
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const answer = await s.reports.pdf(req.actor, req.params.id).catch((err: unknown) => {
        const details = isAppError(err) && err.code === 'REPORT_RENDER_FAILED' ? err.details : undefined;
        const retryAfter = (details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
        if (retryAfter) void reply.header('retry-after', String(retryAfter));
        throw err;
      });
      if (answer.status === 'rendering') {
        return reply
          .status(202)
          .header('retry-after', String(answer.retryAfterSeconds))
          .header('cache-control', 'no-store')
          .send(answer);
      }
      return reply
        .type('application/pdf')
        .header('cache-control', 'private, no-store')
        .header('content-disposition', `inline; filename="report-${req.params.id}.pdf"`)
        .send(answer.pdf);
    },
  );
  app.get(
    '/api/sessions/:id/feedback',
    {
      schema: {
        tags: ['reports'],
        summary: "The candidate's feedback, without scores: staff at any time, the candidate once released",
        security,
        params: ZIdParams,
        response: { 200: ZCandidateFeedback, ...errors },
      },
    },
    async (req) => s.reports.feedback(req.actor, req.params.id),
  );
  app.post(
    '/api/sessions/:id/feedback/release',
    {
      schema: {
        tags: ['reports'],
        summary: 'Release the feedback to the candidate (idempotent; audited)',
        security,
        params: ZIdParams,
        response: { 200: ZCandidateFeedback, ...errors },
      },
    },
    async (req) => s.reports.releaseFeedback(req.actor, req.params.id),
  );
  app.post(
    '/api/sessions/:id/scores/:scoreId/override',
    {
      schema: {
        tags: ['reports'],
        summary: 'Override one criterion score with a reason (the original is kept; audited)',
        security,
        params: ZScoreParams,
        body: ZOverrideScoreBody,
        response: { 200: ZSessionReport, ...errors },
      },
    },
    async (req) => s.reports.override(req.actor, req.params.id, req.params.scoreId, req.body),
  );

  const tags = ['admin'];
  app.get(
    '/api/admin/llm-keys',
    {
      schema: {
        tags,
        summary: "The organisation's LLM provider keys, masked",
        security,
        response: { 200: z.object({ keys: z.array(ZLlmKey) }), ...errors },
      },
    },
    async (req) => ({ keys: await s.keys.list(req.actor) }),
  );
  app.post(
    '/api/admin/llm-keys',
    {
      schema: {
        tags,
        summary: 'Add a provider key (stored encrypted)',
        security,
        body: ZAddLlmKeyBody,
        response: { 201: ZLlmKey, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await s.keys.add(req.actor, req.body)),
  );
  for (const [action, active] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    app.post(
      `/api/admin/llm-keys/:id/${action}`,
      {
        schema: {
          tags,
          summary: `${action === 'disable' ? 'Take a key out of' : 'Put a key back into'} rotation`,
          security,
          params: ZIdParams,
          response: { 200: ZLlmKey, ...errors },
        },
      },
      async (req) => s.keys.setActive(req.actor, req.params.id, active),
    );
  }
  app.delete(
    '/api/admin/llm-keys/:id',
    {
      schema: { tags, summary: 'Delete a key', security, params: ZIdParams, response: { 204: z.null(), ...errors } },
    },
    async (req, reply) => {
      await s.keys.remove(req.actor, req.params.id);
      return reply.status(204).send(null);
    },
  );
}
