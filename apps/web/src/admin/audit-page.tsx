import { useEffect, useState } from 'react';
import type { TAuditEntry } from '../api/api-client.ts';
import { useStaff } from '../auth/staff-context.tsx';
import { Empty, ErrorState, Field, Loading, PageTitle, formatDate, useAction, useAsync } from '../ui/ui.tsx';

const PAGE = 100;

export function AuditPage() {
  const { api } = useStaff();
  const [action, setAction] = useState('');
  const [filter, setFilter] = useState('');
  const [entries, setEntries] = useState<TAuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  // Names for actor ids; the log still shows the id when a user is unknown here.
  const users = useAsync(() => api.listUsers(), []);
  const nameOf = (id: string | null) =>
    id === null ? 'system' : ((users.status === 'ok' ? users.data.find((u) => u.id === id)?.name : undefined) ?? id);
  const load = useAction(async (reset: boolean) => {
    const before = reset ? undefined : entries?.at(-1)?.createdAt;
    const page = await api.listAudit({ action: filter || undefined, limit: PAGE, before });
    setEntries((e) => (reset || !e ? page : [...e, ...page]));
    setMore(page.length === PAGE);
  });
  useEffect(() => {
    setEntries(null);
    load.run(true);
    // Only a new filter starts over; `load` changes identity on every render.
  }, [filter]);

  return (
    <>
      <PageTitle title="Audit log">Audit log</PageTitle>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(action.trim());
        }}
      >
        <Field label="Action" hint='An exact action name, e.g. "user.created"'>
          {(p) => <input {...p} type="search" value={action} onChange={(e) => setAction(e.target.value)} />}
        </Field>
        <button type="submit" className="secondary" style={{ marginBottom: '0.9rem' }}>
          Filter
        </button>
      </form>
      {entries === null && load.error === null && <Loading label="the audit log" />}
      {entries === null && load.error !== null && <ErrorState error={load.error} onRetry={() => load.run(true)} />}
      {entries && entries.length === 0 && (
        <Empty>{filter ? 'No entries for this action.' : 'The audit log is empty.'}</Empty>
      )}
      {entries && entries.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Actor</th>
                <th scope="col">IP</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>{formatDate(e.createdAt)}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{e.targetType ? `${e.targetType} ${e.targetId ?? ''}` : '—'}</td>
                  <td>{nameOf(e.actorId)}</td>
                  <td>{e.ip ?? '—'}</td>
                  <td>
                    {Object.keys(e.metadata).length > 0 ? (
                      <code style={{ wordBreak: 'break-all' }}>{JSON.stringify(e.metadata)}</code>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {entries && load.error !== null && <ErrorState error={load.error} onRetry={() => load.run(false)} />}
      {entries && more && (
        <div className="actions">
          <button type="button" className="secondary" disabled={load.busy} onClick={() => load.run(false)}>
            {load.busy ? 'Loading…' : 'Load older entries'}
          </button>
        </div>
      )}
    </>
  );
}
