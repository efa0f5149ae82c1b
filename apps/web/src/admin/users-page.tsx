import { useState, type FormEvent } from 'react';
import type { TStaffRole } from '../api/api-client.ts';
import { fieldErrors } from '../api/errors.ts';
import { useStaff } from '../auth/staff-context.tsx';
import { AsyncView, Empty, ErrorMessage, Field, PageTitle, formatDate, useAction, useAsync } from '../ui/ui.tsx';

export function UsersPage() {
  const { api, user: me } = useStaff();
  const users = useAsync(() => api.listUsers(), []);
  const changeRole = useAction(async (id: string, role: TStaffRole) => {
    await api.changeRole(id, role);
    users.reload();
  });
  return (
    <>
      <PageTitle title="Users">Users and roles</PageTitle>
      <InviteStaff />
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

function InviteStaff() {
  const { api } = useStaff();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<TStaffRole>('recruiter');
  const [sent, setSent] = useState<string | null>(null);
  const submit = useAction(async () => {
    const result = await api.inviteStaff({ name: name.trim(), email: email.trim(), role });
    setSent(`Invitation sent to ${email.trim()}; the link works until ${formatDate(result.expiresAt)}.`);
    setName('');
    setEmail('');
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
