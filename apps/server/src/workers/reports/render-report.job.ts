import { ZReportRenderRequestedEvent, type TReportRenderRequestedEvent } from '@parley/contracts';
import type { RenderOutcome } from '../../scoring/index.ts';
import { defineJob, type JobDefinition } from '../job.ts';
import { dlqOf, REPORT_QUEUE, retryPolicyOf } from '../worker-topology.ts';

/** What the report job needs of the scoring context (`ScoringModule['reports']` fits). */
export interface ReportPrinter {
  printStored(orgId: string, sessionId: string, options: { lastAttempt: boolean }): Promise<RenderOutcome>;
}

/**
 * `report.render` (← `interview.scored`, `report.render.requested`): prints the session's current
 * report to HTML and PDF with `renderReportPdf`, stores both and records them in `reports`. The
 * `interview.scored` payload carries more than ids; only `orgId` and `sessionId` are read.
 */
export function renderReportJob(deps: { reports: ReportPrinter }): JobDefinition<TReportRenderRequestedEvent> {
  return defineJob({
    name: 'report.render',
    queue: REPORT_QUEUE.name,
    routingKeys: REPORT_QUEUE.bindings,
    payload: ZReportRenderRequestedEvent,
    // Launching Chromium, loading the page and printing are each bounded by 60 s in the renderer.
    timeoutMs: 3 * 60_000,
    retry: retryPolicyOf(REPORT_QUEUE.name),
    deadLetterQueue: dlqOf(REPORT_QUEUE.name),
    idempotency:
      'natural: prints are stored under the hash of the HTML; a delivery whose HTML already has a ready PDF prints ' +
      'nothing, and a repeat after a crash writes the same keys again',
    async handle(event, ctx) {
      const outcome = await deps.reports.printStored(event.orgId, event.sessionId, { lastAttempt: ctx.lastAttempt });
      ctx.logger.info({ sessionId: event.sessionId, outcome }, 'report rendering');
    },
  });
}
