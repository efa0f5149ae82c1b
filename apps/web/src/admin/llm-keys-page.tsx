import type { TLlmKey } from '@parley/contracts';
import { useState, type FormEvent } from 'react';
import { fieldErrors } from '../api/errors.ts';
import { useStaff } from '../auth/staff-context.tsx';
import { AsyncView, Empty, ErrorMessage, Field, PageTitle, formatDate, useAction, useAsync } from '../ui/ui.tsx';

type Provider = 'openai' | 'anthropic';
const PROVIDER_LABELS: Record<Provider, string> = { openai: 'OpenAI (or compatible)', anthropic: 'Anthropic' };

/** The organisation's LLM provider keys: shown masked, added once, taken out of rotation or deleted. */
export function LlmKeysPage() {
  const { api } = useStaff();
  const keys = useAsync(() => api.listLlmKeys(), []);
  const act = useAction(async (key: TLlmKey, action: 'disable' | 'enable' | 'delete') => {
    if (action === 'delete') {
      if (!window.confirm(`Delete the ${key.provider} key ${key.masked}? Scoring stops using it at once.`)) return;
      await api.deleteLlmKey(key.id);
    } else {
      await api.setLlmKeyActive(key.id, action === 'enable');
    }
    keys.reload();
  });
  return (
    <>
      <PageTitle title="Provider keys">Provider keys</PageTitle>
      <p>
        Scoring calls a language model with these keys. A key is stored encrypted and never shown again; keys of equal
        priority take turns.
      </p>
      <AddKey onAdded={keys.reload} />
      <h2>Keys</h2>
      <ErrorMessage error={act.error} />
      <AsyncView value={keys} label="provider keys">
        {(list) =>
          list.length === 0 ? (
            <Empty>No keys yet. Scoring uses the server&apos;s own configuration, if it has one.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Provider keys</caption>
                <thead>
                  <tr>
                    <th scope="col">Provider</th>
                    <th scope="col">Label</th>
                    <th scope="col">Key</th>
                    <th scope="col">Model</th>
                    <th scope="col">State</th>
                    <th scope="col">Used</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((k) => (
                    <tr key={k.id}>
                      <td>
                        {PROVIDER_LABELS[k.provider as Provider] ?? k.provider}
                        {k.baseUrl && <div className="muted">{k.baseUrl}</div>}
                      </td>
                      <td>{k.label || '—'}</td>
                      <td>
                        <code>{k.masked}</code>
                      </td>
                      <td>{k.model ?? 'default'}</td>
                      <td>
                        <KeyState k={k} />
                      </td>
                      <td>
                        {k.usageCount} times{k.failureCount > 0 && `, ${k.failureCount} failed`}
                        <div className="muted">last {formatDate(k.lastUsedAt)}</div>
                      </td>
                      <td>
                        <div className="actions" style={{ margin: 0 }}>
                          <button
                            type="button"
                            className="secondary"
                            disabled={act.busy}
                            aria-label={`${k.isActive ? 'Disable' : 'Enable'} key ${k.masked}`}
                            onClick={() => act.run(k, k.isActive ? 'disable' : 'enable')}
                          >
                            {k.isActive ? 'Disable' : 'Enable'}
                          </button>
                          <button
                            type="button"
                            className="danger"
                            disabled={act.busy}
                            aria-label={`Delete key ${k.masked}`}
                            onClick={() => act.run(k, 'delete')}
                          >
                            Delete
                          </button>
                        </div>
                      </td>
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

function KeyState({ k }: { k: TLlmKey }) {
  if (!k.isActive) return <span className="badge bad">Disabled</span>;
  if (k.disabledUntil && Date.parse(k.disabledUntil) > Date.now()) {
    return (
      <>
        <span className="badge warn">Resting until {formatDate(k.disabledUntil)}</span>
        {k.lastError && <div className="muted">{k.lastError}</div>}
      </>
    );
  }
  return <span className="badge ok">Active</span>;
}

function AddKey({ onAdded }: { onAdded: () => void }) {
  const { api } = useStaff();
  const [provider, setProvider] = useState<Provider>('openai');
  const [label, setLabel] = useState('');
  const [key, setKey] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [model, setModel] = useState('');
  const [added, setAdded] = useState<string | null>(null);
  const submit = useAction(async () => {
    const created = await api.addLlmKey({
      provider,
      key: key.trim(),
      label: label.trim(),
      ...(baseUrl.trim() ? { baseUrl: baseUrl.trim() } : {}),
      ...(model.trim() ? { model: model.trim() } : {}),
    });
    setAdded(`Key ${created.masked} added.`);
    setKey('');
    setLabel('');
    setBaseUrl('');
    setModel('');
    onAdded();
  });
  const errors = fieldErrors(submit.error);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setAdded(null);
    submit.run();
  };
  return (
    <form className="panel" onSubmit={onSubmit} aria-labelledby="add-key-heading">
      <h2 id="add-key-heading" style={{ marginTop: 0 }}>
        Add a key
      </h2>
      <div className="grid">
        <Field label="Provider">
          {(p) => (
            <select {...p} value={provider} onChange={(e) => setProvider(e.target.value as Provider)}>
              {Object.entries(PROVIDER_LABELS).map(([value, text]) => (
                <option key={value} value={value}>
                  {text}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Label" hint="Optional, to tell keys apart" error={errors.label}>
          {(p) => <input {...p} type="text" maxLength={100} value={label} onChange={(e) => setLabel(e.target.value)} />}
        </Field>
        <Field label="API key" error={errors.key}>
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="off"
              required
              minLength={8}
              value={key}
              onChange={(e) => setKey(e.target.value)}
            />
          )}
        </Field>
        <Field label="Base URL" hint="Only for OpenAI-compatible servers and proxies" error={errors.baseUrl}>
          {(p) => (
            <input
              {...p}
              type="url"
              placeholder="https://…"
              value={baseUrl}
              onChange={(e) => setBaseUrl(e.target.value)}
            />
          )}
        </Field>
        <Field label="Model" hint="Optional; the server's default otherwise" error={errors.model}>
          {(p) => <input {...p} type="text" value={model} onChange={(e) => setModel(e.target.value)} />}
        </Field>
      </div>
      <ErrorMessage error={submit.error} />
      {added && (
        <p className="success" role="status">
          {added}
        </p>
      )}
      <button type="submit" disabled={submit.busy}>
        {submit.busy ? 'Adding…' : 'Add key'}
      </button>
    </form>
  );
}
