import { ZSessionStatus, type TSessionStatus } from '@parley/contracts';
import { useStaff } from '../auth/staff-context.tsx';
import { queryOf, toSearch } from '../router/match.ts';
import { Link, navigate, useLocation } from '../router/router.tsx';
import {
  AsyncView,
  Empty,
  Field,
  PageTitle,
  SESSION_STATUS_LABELS,
  StatusBadge,
  formatDate,
  useAsync,
} from '../ui/ui.tsx';

export function SessionsPage() {
  const { api } = useStaff();
  const { search } = useLocation();
  const query = queryOf(search);
  const status = ZSessionStatus.safeParse(query.status).success ? (query.status as TSessionStatus) : undefined;
  const interviewId = query.interviewId || undefined;
  const sessions = useAsync(() => api.listSessions({ status, interviewId, limit: 200 }), [status, interviewId]);
  const interviews = useAsync(() => api.listInterviews({ limit: 200 }), []);
  // Filters live in the address, so a filtered list can be bookmarked and survives a reload.
  const setFilter = (patch: Record<string, string | undefined>) =>
    navigate(`/sessions${toSearch({ status, interviewId, ...patch })}`, { replace: true });

  return (
    <>
      <PageTitle title="Sessions">Sessions</PageTitle>
      <div className="filters">
        <Field label="Status">
          {(p) => (
            <select {...p} value={status ?? ''} onChange={(e) => setFilter({ status: e.target.value || undefined })}>
              <option value="">All statuses</option>
              {ZSessionStatus.options.map((s) => (
                <option key={s} value={s}>
                  {SESSION_STATUS_LABELS[s]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Interview">
          {(p) => (
            <select
              {...p}
              value={interviewId ?? ''}
              onChange={(e) => setFilter({ interviewId: e.target.value || undefined })}
            >
              <option value="">All interviews</option>
              {interviews.status === 'ok' &&
                interviews.data.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.title}
                  </option>
                ))}
            </select>
          )}
        </Field>
      </div>
      <AsyncView value={sessions} label="sessions">
        {(list) =>
          list.length === 0 ? (
            <Empty>
              {status || interviewId ? (
                'No sessions match these filters.'
              ) : (
                <>
                  No sessions yet. <Link to="/interviews">Invite candidates</Link> to a published interview.
                </>
              )}
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Sessions</caption>
                <thead>
                  <tr>
                    <th scope="col">Candidate</th>
                    <th scope="col">Interview</th>
                    <th scope="col">Status</th>
                    <th scope="col">Started</th>
                    <th scope="col">Completed</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((s) => (
                    <tr key={s.id}>
                      <td>
                        <Link to={`/sessions/${s.id}`}>{s.candidateName}</Link>
                        <div className="muted">{s.candidateEmail}</div>
                      </td>
                      <td>{s.interviewTitle}</td>
                      <td>
                        <StatusBadge status={s.status} />
                        {s.status === 'in_progress' && <div className="muted">on question {s.currentPosition + 1}</div>}
                      </td>
                      <td>{formatDate(s.startedAt)}</td>
                      <td>{formatDate(s.completedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </AsyncView>
    </>
  );
}
