import { useState } from 'react';
import { useStaff } from '../auth/staff-context.tsx';
import { Link } from '../router/router.tsx';
import { AsyncView, Empty, Field, PageTitle, formatDate, useAsync } from '../ui/ui.tsx';

export function QuestionsPage() {
  const { api } = useStaff();
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const [archived, setArchived] = useState(false);
  const questions = useAsync(
    () => api.listQuestions({ q: search || undefined, archived, limit: 200 }),
    [search, archived],
  );
  return (
    <>
      <PageTitle title="Question bank">Question bank</PageTitle>
      <div className="actions">
        <Link to="/questions/new" className="button">
          New question
        </Link>
      </div>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(q.trim());
        }}
      >
        <Field label="Search questions">
          {(p) => <input {...p} type="search" value={q} onChange={(e) => setQ(e.target.value)} />}
        </Field>
        <div className="check" style={{ marginBottom: '1rem' }}>
          <input
            id="show-archived"
            type="checkbox"
            checked={archived}
            onChange={(e) => setArchived(e.target.checked)}
          />
          <label htmlFor="show-archived">Show archived questions only</label>
        </div>
        <button type="submit" className="secondary" style={{ marginBottom: '0.9rem' }}>
          Search
        </button>
      </form>
      <AsyncView value={questions} label="questions">
        {(list) =>
          list.length === 0 ? (
            <Empty>
              {search
                ? 'No question matches your search.'
                : archived
                  ? 'No archived questions.'
                  : 'No questions yet. Write the first one.'}
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Questions</caption>
                <thead>
                  <tr>
                    <th scope="col">Question</th>
                    <th scope="col">Category</th>
                    <th scope="col">Criteria</th>
                    <th scope="col">Version</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((question) => (
                    <tr key={question.id}>
                      <td>
                        <Link to={`/questions/${question.id}`}>{truncate(question.current.text, 120)}</Link>
                        {question.tags.length > 0 && <div className="muted">{question.tags.join(', ')}</div>}
                      </td>
                      <td>{question.category}</td>
                      <td>{question.current.rubric.criteria.length}</td>
                      <td>v{question.current.version}</td>
                      <td>{formatDate(question.updatedAt)}</td>
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

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
