import { useState } from 'react';
import type { TInterviewStatus } from '../api/api-client.ts';
import { useStaff } from '../auth/staff-context.tsx';
import { Link } from '../router/router.tsx';
import { AsyncView, Empty, Field, PageTitle, StatusBadge, formatDate, useAsync } from '../ui/ui.tsx';

export function InterviewsPage() {
  const { api } = useStaff();
  const [status, setStatus] = useState<TInterviewStatus | ''>('');
  const interviews = useAsync(() => api.listInterviews({ status: status || undefined, limit: 200 }), [status]);
  return (
    <>
      <PageTitle title="Interviews">Interviews</PageTitle>
      <div className="actions">
        <Link to="/interviews/new" className="button">
          New interview
        </Link>
      </div>
      <div className="filters">
        <Field label="Status">
          {(p) => (
            <select {...p} value={status} onChange={(e) => setStatus(e.target.value as TInterviewStatus | '')}>
              <option value="">All</option>
              <option value="draft">Draft</option>
              <option value="published">Published</option>
              <option value="archived">Archived</option>
            </select>
          )}
        </Field>
      </div>
      <AsyncView value={interviews} label="interviews">
        {(list) =>
          list.length === 0 ? (
            <Empty>{status ? 'No interviews with this status.' : 'No interviews yet. Build the first one.'}</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Interviews</caption>
                <thead>
                  <tr>
                    <th scope="col">Title</th>
                    <th scope="col">Status</th>
                    <th scope="col">Questions</th>
                    <th scope="col">Video analysis</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((i) => (
                    <tr key={i.id}>
                      <td>
                        <Link to={`/interviews/${i.id}`}>{i.title}</Link>
                      </td>
                      <td>
                        <StatusBadge status={i.status} />
                      </td>
                      <td>{i.questionCount}</td>
                      <td>{POLICY_LABELS[i.settings.emotionPolicy]}</td>
                      <td>{formatDate(i.updatedAt)}</td>
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

export const POLICY_LABELS: Record<string, string> = {
  off: 'Off',
  insights: 'Insights only (not scored)',
  scored: 'Counts toward the score',
};
