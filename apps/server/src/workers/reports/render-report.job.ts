import {
  REPORT_RENDERED,
  ZReportRenderedEvent,
  ZReportRenderRequestedEvent,
  type TReportRenderedEvent,
  type TReportRenderRequestedEvent,
} from '@parley/contracts';
import type { Broker } from '../../infra/broker/broker.ts';
import type { RenderOutcome } from '../../scoring/index.ts';
import { defineJob, type JobDefinition } from '../job.ts';
import { dlqOf, REPORT_QUEUE, retryPolicyOf } from '../worker-topology.ts';

/** What the report job needs of the scoring context (`ScoringModule['reports']` fits). */
export interface ReportPrinter {
  printStored(orgId: string, sessionId: string, options: { lastAttempt: boolean }): Promise<RenderOutcome>;
}

/**
 * `report.render` (← `interview.scored`, `report.render.requested`): prints the session's current
 * report to HTML and PDF with `renderReportPdf`, stores both and records them in `reports`, then
 * announces `report.rendered` (`pdf: 'ready'`), on which "report ready" is mailed. When the print
 * fails on its last attempt it announces `pdf: 'failed'` before the message is dead-lettered, so
 * the recruiter still hears that the scores are in. The `interview.scored` payload carries more
 * than ids; only `orgId` and `sessionId` are read.
 */
export function renderReportJob(deps: {
  reports: ReportPrinter;
  broker: Pick<Broker, 'publish'>;
}): JobDefinition<TReportRenderRequestedEvent> {
  const announce = (event: TReportRenderedEvent, messageId: string) =>
    deps.broker.publish(REPORT_RENDERED, ZReportRenderedEvent.parse(event), { messageId });
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
      'nothing, and a repeat after a crash writes the same keys again. report.rendered is published after every ' +
      'delivery that finds the PDF stored (so a failed publish is repeated by the retry); its consumer mails once',
    async handle(event, ctx) {
      const { orgId, sessionId } = event;
      let outcome: RenderOutcome;
      try {
        outcome = await deps.reports.printStored(orgId, sessionId, { lastAttempt: ctx.lastAttempt });
      } catch (err) {
        if (ctx.lastAttempt) {
          // Best effort: the print's own failure is what the dead-letter queue should show.
          await announce({ orgId, sessionId, pdf: 'failed' }, `${ctx.messageId}:report.rendered:failed`).catch(
            (publishErr: unknown) => ctx.logger.error({ err: publishErr, sessionId }, 'report.rendered not published'),
          );
        }
        throw err;
      }
      ctx.logger.info({ sessionId, outcome }, 'report rendering');
      if (outcome === 'gone') return;
      await announce({ orgId, sessionId, pdf: 'ready' }, `${ctx.messageId}:report.rendered`);
    },
  });
}
