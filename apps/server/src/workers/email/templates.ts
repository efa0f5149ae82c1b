/** A rendered e-mail: every message has a plain-text part and an HTML part saying the same. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export type EmailTemplate =
  | { kind: 'invitation'; name: string; interviewTitle: string; orgName: string; link: string; validUntil: Date }
  | { kind: 'reminder'; name: string; interviewTitle: string; orgName: string; link: string; validUntil: Date }
  | {
      kind: 'staff-invitation';
      name: string;
      role: 'admin' | 'recruiter';
      orgName: string;
      link: string;
      validUntil: Date;
    }
  | { kind: 'completion-receipt'; name: string; interviewTitle: string; orgName: string; completedAt: Date }
  | {
      kind: 'report-ready';
      recruiterName: string;
      candidateName: string;
      interviewTitle: string;
      link: string;
      /** Final score 0–5, or null when every answer needs a human review. */
      overall: number | null;
      /** Whether the PDF was printed, or could not be (the report is readable online either way). */
      pdf: 'ready' | 'failed';
    };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Subjects are one line whatever a title contains. */
const oneLine = (s: string) => s.replace(/[\r\n\0]+/g, ' ').trim();
const when = (d: Date) => d.toUTCString();

function layout(paragraphs: string[], action?: { label: string; href: string }): string {
  const body = paragraphs.map((p) => `<p style="margin:0 0 16px">${p}</p>`).join('\n');
  const button = action
    ? `<p style="margin:24px 0"><a href="${escapeHtml(action.href)}" style="background:#1f4fd1;color:#fff;` +
      `padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block">${escapeHtml(action.label)}</a></p>`
    : '';
  return (
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;color:#1b1b1b">' +
    `<div style="max-width:560px;margin:0 auto;padding:24px">${body}${button}` +
    '<p style="color:#666;font-size:12px;margin-top:32px">Sent by Parley on behalf of the organisation named above.</p>' +
    '</div></body></html>'
  );
}

/** Renders one of the notification e-mails as text and HTML. Every value is escaped in the HTML. */
export function renderEmail(t: EmailTemplate): RenderedEmail {
  switch (t.kind) {
    case 'invitation':
    case 'reminder': {
      const intro =
        t.kind === 'invitation'
          ? `${t.orgName} invites you to a recorded interview, "${t.interviewTitle}".`
          : `This is a reminder that your interview "${t.interviewTitle}" with ${t.orgName} is still waiting for you. ` +
            `The link stops working on ${when(t.validUntil)}.`;
      const consent = 'Before you start you will see how AI assists the evaluation and choose what you consent to.';
      return {
        subject:
          t.kind === 'invitation'
            ? `Your interview: ${oneLine(t.interviewTitle)}`
            : `Reminder: your interview ${oneLine(t.interviewTitle)}`,
        text:
          `Hello ${t.name},\n\n${intro}\n\nStart it here (the link works once, until ${when(t.validUntil)}):\n` +
          `${t.link}\n\n${consent}\n`,
        html: layout(
          [
            `Hello ${escapeHtml(t.name)},`,
            escapeHtml(intro),
            `The link works once, until ${escapeHtml(when(t.validUntil))}.`,
            escapeHtml(consent),
          ],
          { label: 'Start the interview', href: t.link },
        ),
      };
    }
    case 'staff-invitation': {
      const intro = `${t.orgName} invites you to join Parley as ${t.role === 'admin' ? 'an admin' : 'a recruiter'}.`;
      return {
        subject: `You are invited to Parley by ${oneLine(t.orgName)}`,
        text:
          `Hello ${t.name},\n\n${intro}\n\nSet your password here (the link works once, until ` +
          `${when(t.validUntil)}):\n${t.link}\n`,
        html: layout(
          [
            `Hello ${escapeHtml(t.name)},`,
            escapeHtml(intro),
            `The link works once, until ${escapeHtml(when(t.validUntil))}.`,
          ],
          {
            label: 'Set your password',
            href: t.link,
          },
        ),
      };
    }
    case 'completion-receipt': {
      const intro = `Thank you: we received your interview "${t.interviewTitle}" on ${when(t.completedAt)}.`;
      const next = `${t.orgName} will review your answers and contact you about the next steps.`;
      return {
        subject: `We received your interview: ${oneLine(t.interviewTitle)}`,
        text: `Hello ${t.name},\n\n${intro}\n\n${next}\n`,
        html: layout([`Hello ${escapeHtml(t.name)},`, escapeHtml(intro), escapeHtml(next)]),
      };
    }
    case 'report-ready': {
      const score =
        t.overall === null
          ? 'Every answer needs your review before it can be scored.'
          : `Overall score: ${t.overall.toFixed(1)} / 5.`;
      const intro = `The report for ${t.candidateName}'s interview "${t.interviewTitle}" is ready.`;
      const pdf =
        t.pdf === 'ready'
          ? 'Its PDF can be downloaded from the report page.'
          : 'Its PDF could not be printed; the report is readable online, and the PDF is tried again when you download it.';
      return {
        subject: `Report ready: ${oneLine(t.candidateName)} — ${oneLine(t.interviewTitle)}`,
        text: `Hello ${t.recruiterName},\n\n${intro}\n${score}\n${pdf}\n\nOpen it here:\n${t.link}\n`,
        html: layout([`Hello ${escapeHtml(t.recruiterName)},`, escapeHtml(intro), escapeHtml(score), escapeHtml(pdf)], {
          label: 'Open the report',
          href: t.link,
        }),
      };
    }
  }
}
