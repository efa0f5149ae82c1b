import type { TCandidateInvitation } from '@parley/contracts';
import { useState, type FormEvent } from 'react';
import { fieldErrors } from '../api/errors.ts';
import { useStaff } from '../auth/staff-context.tsx';
import { Link } from '../router/router.tsx';
import {
  AsyncView,
  Empty,
  ErrorMessage,
  Field,
  InvitationEmailState,
  StatusBadge,
  formatDate,
  useAction,
  useAsync,
} from '../ui/ui.tsx';
import { chunk, parseCandidatesCsv, type CandidateRow } from './candidates-csv.ts';

/** Invite candidates one by one or from a CSV file, and manage the invitations (their e-mails are queued, then sent by a worker). */
export function InvitationsPanel({ interviewId }: { interviewId: string }) {
  const { api } = useStaff();
  const invitations = useAsync(() => api.listInvitations(interviewId), [interviewId]);
  const [message, setMessage] = useState<string | null>(null);

  const invite = async (candidates: CandidateRow[], expiresInHours?: number) => {
    let sent = 0;
    for (const batch of chunk(candidates, 100)) {
      await api.inviteCandidates(interviewId, { candidates: batch, ...(expiresInHours ? { expiresInHours } : {}) });
      sent += batch.length;
    }
    // The server queues the e-mails; a worker sends them shortly after (the Sent column fills in then).
    setMessage(
      `${sent} invitation${sent === 1 ? '' : 's'} queued; the e-mail${sent === 1 ? ' goes' : 's go'} out shortly.`,
    );
    invitations.reload();
  };

  return (
    <section aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invite candidates</h2>
      {message && (
        <p className="success" role="status">
          {message}
        </p>
      )}
      <div className="grid" style={{ gap: '1rem', alignItems: 'start' }}>
        <InviteOne onInvite={invite} />
        <InviteCsv onInvite={invite} />
      </div>
      <h2>Invitations</h2>
      <AsyncView value={invitations} label="invitations">
        {(list) =>
          list.length === 0 ? (
            <Empty>No one has been invited yet.</Empty>
          ) : (
            <InvitationTable list={list} onChanged={invitations.reload} onMessage={setMessage} />
          )
        }
      </AsyncView>
    </section>
  );
}

function InviteOne({ onInvite }: { onInvite: (c: CandidateRow[], hours?: number) => Promise<void> }) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [days, setDays] = useState('');
  const submit = useAction(async () => {
    await onInvite([{ name: name.trim(), email: email.trim() }], days ? Math.round(Number(days) * 24) : undefined);
    setName('');
    setEmail('');
  });
  const errors = fieldErrors(submit.error);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    submit.run();
  };
  return (
    <form className="panel" style={{ margin: 0 }} onSubmit={onSubmit} aria-labelledby="invite-one-heading">
      <h3 id="invite-one-heading" style={{ marginTop: 0 }}>
        One candidate
      </h3>
      <Field label="Candidate name" error={errors['candidates.0.name']}>
        {(p) => <input {...p} type="text" required value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label="Candidate e-mail" error={errors['candidates.0.email']}>
        {(p) => <input {...p} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}
      </Field>
      <Field label="Link valid for (days)" hint="Optional; never beyond the interview's deadline.">
        {(p) => <input {...p} type="number" min={1} max={90} value={days} onChange={(e) => setDays(e.target.value)} />}
      </Field>
      <ErrorMessage error={submit.error} />
      <button type="submit" disabled={submit.busy}>
        {submit.busy ? 'Sending…' : 'Send invitation'}
      </button>
    </form>
  );
}

function InviteCsv({ onInvite }: { onInvite: (c: CandidateRow[]) => Promise<void> }) {
  const [text, setText] = useState('');
  const parsed = text.trim() ? parseCandidatesCsv(text) : null;
  const submit = useAction(async () => {
    if (!parsed || parsed.candidates.length === 0) return;
    await onInvite(parsed.candidates);
    setText('');
  });
  const readFile = async (file: File | undefined) => {
    if (file) setText(await file.text());
  };
  return (
    <div className="panel" style={{ margin: 0 }}>
      <h3 style={{ marginTop: 0 }}>Several candidates (CSV)</h3>
      <p className="muted">
        Columns <code>name</code> and <code>email</code> with a header row, or name then e-mail on each line.
      </p>
      <Field label="CSV file">
        {(p) => (
          <input
            {...p}
            type="file"
            accept=".csv,text/csv,text/plain"
            onChange={(e) => void readFile(e.target.files?.[0])}
          />
        )}
      </Field>
      <Field label="Or paste the CSV">
        {(p) => <textarea {...p} rows={5} value={text} onChange={(e) => setText(e.target.value)} />}
      </Field>
      {parsed && (
        <div aria-live="polite">
          <p>
            {parsed.candidates.length} candidate{parsed.candidates.length === 1 ? '' : 's'} ready to invite.
          </p>
          {parsed.problems.length > 0 && (
            <div className="alert">
              <p style={{ marginTop: 0 }}>These lines will be skipped:</p>
              <ul>
                {parsed.problems.map((p) => (
                  <li key={`${p.line}-${p.message}`}>
                    Line {p.line}: {p.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
      <ErrorMessage error={submit.error} />
      <button
        type="button"
        onClick={() => submit.run()}
        disabled={submit.busy || !parsed || parsed.candidates.length === 0}
      >
        {submit.busy
          ? 'Sending…'
          : `Invite ${parsed?.candidates.length ?? 0} candidate${parsed?.candidates.length === 1 ? '' : 's'}`}
      </button>
    </div>
  );
}

function InvitationTable({
  list,
  onChanged,
  onMessage,
}: {
  list: TCandidateInvitation[];
  onChanged: () => void;
  onMessage: (message: string) => void;
}) {
  const { api } = useStaff();
  const act = useAction(async (id: string, action: 'resend' | 'remind' | 'revoke') => {
    if (action === 'revoke' && !window.confirm('Withdraw this invitation? Its link stops working.')) return;
    const updated = await api.invitationAction(id, action);
    if (action === 'resend') onMessage(`A new link for ${updated.name} is queued; the old one no longer works.`);
    if (action === 'remind') onMessage(`A reminder to ${updated.name} is queued.`);
    onChanged();
  });
  return (
    <>
      <ErrorMessage error={act.error} />
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Invitations</caption>
          <thead>
            <tr>
              <th scope="col">Candidate</th>
              <th scope="col">Status</th>
              <th scope="col">Sent</th>
              <th scope="col">Expires</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((i) => (
              <tr key={i.id}>
                <td>
                  {i.name}
                  <div className="muted">{i.email}</div>
                </td>
                <td>
                  <StatusBadge status={i.status} />
                  <InvitationEmailState invitation={i} />
                </td>
                <td>{formatDate(i.sentAt)}</td>
                <td>{formatDate(i.expiresAt)}</td>
                <td>
                  {i.status === 'pending' && (
                    <>
                      <button
                        type="button"
                        className="link"
                        disabled={act.busy}
                        onClick={() => act.run(i.id, 'remind')}
                        aria-label={`Remind ${i.name}`}
                      >
                        Remind
                      </button>
                      <button
                        type="button"
                        className="link"
                        disabled={act.busy}
                        onClick={() => act.run(i.id, 'resend')}
                        aria-label={`Resend to ${i.name}`}
                      >
                        Resend
                      </button>
                      <button
                        type="button"
                        className="link"
                        disabled={act.busy}
                        onClick={() => act.run(i.id, 'revoke')}
                        aria-label={`Withdraw invitation of ${i.name}`}
                      >
                        Withdraw
                      </button>
                    </>
                  )}
                  {i.status === 'expired' && (
                    <button
                      type="button"
                      className="link"
                      disabled={act.busy}
                      onClick={() => act.run(i.id, 'resend')}
                      aria-label={`Send a new link to ${i.name}`}
                    >
                      Send a new link
                    </button>
                  )}
                  {i.sessionId && <Link to={`/sessions/${i.sessionId}`}>Session</Link>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
