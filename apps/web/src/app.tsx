import { useEffect, useState } from 'react';
import { ZReadiness, type TReadiness } from '@parley/contracts';

/** Placeholder shell: shows that the server is up and which of its adapters are ready. */
export function App() {
  const [readiness, setReadiness] = useState<TReadiness | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetch('/readyz')
      .then((r) => r.json())
      .then((body) => setReadiness(ZReadiness.parse(body)))
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);

  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 640, margin: '3rem auto', padding: '0 1rem' }}>
      <h1>Parley</h1>
      <p>Self-hostable AI interviews.</p>
      {error && <p role="alert">Could not reach the server: {error}</p>}
      {!readiness && !error && <p>Checking the server…</p>}
      {readiness && (
        <section aria-label="Server readiness">
          <p>
            Server is <strong>{readiness.status === 'ready' ? 'ready' : 'not ready'}</strong> (roles:{' '}
            {readiness.roles.join(', ')})
          </p>
          <ul>
            {readiness.checks.map((c) => (
              <li key={c.name}>
                {c.name}: {c.ok ? 'ok' : `failing (${c.error ?? 'unknown'})`}
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
