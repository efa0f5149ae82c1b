import type { TStaffInvitation } from '@parley/contracts';
import { useState, type FormEvent } from 'react';
import type { TStaffRole } from '../api/api-client.ts';
import { fieldErrors } from '../api/errors.ts';
import { useStaff } from '../auth/staff-context.tsx';
import {
  AsyncView,
  Empty,
  ErrorMessage,
  Field,
  InvitationEmailState,
  PageTitle,
  StatusBadge,
  formatDate,
  useAction,
  useAsync,
} from '../ui/ui.tsx';

export function UsersPage() {
  const { api, user: me } = useStaff();
  const users = useAsync(() => api.listUsers(), []);
  const invitations = useAsync(() => api.listStaffInvitations(), []);
  const changeRole = useAction(async (id: string, role: TStaffRole) => {
    await api.changeRole(id, role);
    users.reload();
  });
  return (
    <>
      <PageTitle title="Users">Users and roles</PageTitle>
      <InviteStaff onInvited={invitations.reload} />
      <h2>Invitations</h2>
      <AsyncView value={invitations} label="invitations">
        {(list) => {
          // Accepted invitations are people now, listed below.
          const open = list.filter((i) => i.status !== 'accepted');
          return open.length === 0 ? (
            <Empty>No open invitations.</Empty>
          ) : (
            <StaffInvitationTable list={open} onChanged={invitations.reload} />
          );
        }}
      </AsyncView>
      <h2>People in your organisation</h2>
      <ErrorMessage error={changeRole.error} />
      <AsyncView value={users} label="users">
        {(list) => {
          const staff = list.filter((u) => u.role !== 'candidate');
          return staff.length === 0 ? (
            <Empty>No users.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Users</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">E-mail</th>
                    <th scope="col">Role</th>
                    <th scope="col">Since</th>
                  </tr>
                </thead>
                <tbody>
                  {staff.map((u) => (
                    <tr key={u.id}>
                      <td>{u.name}</td>
                      <td>{u.email}</td>
                      <td>
                        {u.id === me.id ? (
                          `${u.role} (you)`
                        ) : (
                          <select
                            aria-label={`Role of ${u.name}`}
                            value={u.role}
                            disabled={changeRole.busy}
                            onChange={(e) => changeRole.run(u.id, e.target.value as TStaffRole)}
                          >
                            <option value="recruiter">Recruiter</option>
                            <option value="admin">Admin</option>
                          </select>
                        )}
                      </td>
                      <td>{formatDate(u.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </AsyncView>
    </>
  );
}

function InviteStaff({ onInvited }: { onInvited: () => void }) {
  const { api } = useStaff();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<TStaffRole>('recruiter');
  const [sent, setSent] = useState<string | null>(null);
  const submit = useAction(async () => {
    const result = await api.inviteStaff({ name: name.trim(), email: email.trim(), role });
    // The server only queues the e-mail; a worker delivers it shortly after (or records why not).
    setSent(
      result.deliveryFailedAt
        ? `The invitation to ${result.email} is saved, but its e-mail could not be queued; resend it from the list below.`
        : `Invitation to ${result.email} queued; the e-mail goes out shortly and its link works until ${formatDate(result.expiresAt)}.`,
    );
    setName('');
    setEmail('');
    onInvited();
  });
  const errors = fieldErrors(submit.error);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setSent(null);
    submit.run();
  };
  return (
    <form className="panel" onSubmit={onSubmit} aria-labelledby="invite-staff-heading">
      <h2 id="invite-staff-heading" style={{ marginTop: 0 }}>
        Invite a recruiter or admin
      </h2>
      <div className="grid">
        <Field label="Name" error={errors.name}>
          {(p) => <input {...p} type="text" required value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="E-mail address" error={errors.email}>
          {(p) => <input {...p} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label="Role">
          {(p) => (
            <select {...p} value={role} onChange={(e) => setRole(e.target.value as TStaffRole)}>
              <option value="recruiter">Recruiter</option>
              <option value="admin">Admin</option>
            </select>
          )}
        </Field>
      </div>
      <ErrorMessage error={submit.error} />
      {sent && (
        <p className="success" role="status">
          {sent}
        </p>
      )}
      <button type="submit" disabled={submit.busy}>
        {submit.busy ? 'Sending…' : 'Send invitation'}
      </button>
    </form>
  );
}

const STAFF_INVITATION_ACTIONS = [
  { action: 'resend', label: 'Resend' },
  { action: 'revoke', label: 'Withdraw' },
] as const;

/** Open staff invitations: the state of each one's e-mail, a new link on request, or withdrawn. */
function StaffInvitationTable({ list, onChanged }: { list: TStaffInvitation[]; onChanged: () => void }) {
  const { api } = useStaff();
  const [message, setMessage] = useState<string | null>(null);
  const act = useAction(async (id: string, action: 'resend' | 'revoke') => {
    if (action === 'revoke' && !window.confirm('Withdraw this invitation? Its link stops working.')) return;
    const updated = await api.staffInvitationAction(id, action);
    setMessage(
      action === 'resend'
        ? `A new link for ${updated.name} is queued; the old one no longer works.`
        : `The invitation of ${updated.name} is withdrawn; its link no longer works.`,
    );
    onChanged();
  });
  return (
    <>
      <ErrorMessage error={act.error} />
      {message && (
        <p className="success" role="status">
          {message}
        </p>
      )}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Staff invitations</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
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
                <td>{i.role}</td>
                <td>
                  <StatusBadge status={i.status} />
                  <InvitationEmailState invitation={i} />
                </td>
                <td>{formatDate(i.sentAt)}</td>
                <td>{formatDate(i.expiresAt)}</td>
                <td>
                  {(i.status === 'pending' || i.status === 'expired') && (
                    <>
                      {STAFF_INVITATION_ACTIONS.map(({ action, label }) => (
                        <button
                          key={action}
                          type="button"
                          className="link"
                          disabled={act.busy}
                          onClick={() => act.run(i.id, action)}
                          aria-label={`${label} the invitation of ${i.name}`}
                        >
                          {label}
                        </button>
                      ))}
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
