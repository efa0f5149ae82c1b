import { useState, type FormEvent } from 'react';
import type { ApiClient } from '../api/api-client.ts';
import { fieldErrors } from '../api/errors.ts';
import { Link, navigate } from '../router/router.tsx';
import { ErrorMessage, Field, PageTitle, useAction } from '../ui/ui.tsx';

export function SignInPage({ api, onSignedIn, notice }: { api: ApiClient; onSignedIn: () => void; notice?: string }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const submit = useAction(async () => {
    await api.signIn(email.trim(), password);
    onSignedIn();
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    submit.run();
  };
  return (
    <main className="narrow" id="main">
      <PageTitle title="Sign in">Sign in to Parley</PageTitle>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={onSubmit}>
        <Field label="E-mail address">
          {(p) => (
            <input
              {...p}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password">
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <ErrorMessage error={submit.error} />
        <div className="actions">
          <button type="submit" disabled={submit.busy}>
            {submit.busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
      <p className="muted">
        Candidates: open the link from your invitation e-mail instead. Setting up a new installation?{' '}
        <Link to="/sign-up">Create the organisation</Link>.
      </p>
    </main>
  );
}

export function SignUpPage({ api, onSignedIn }: { api: ApiClient; onSignedIn: () => void }) {
  const [form, setForm] = useState({ orgName: '', name: '', email: '', password: '' });
  const [tooShort, setTooShort] = useState(false);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = useAction(async () => {
    await api.signUp({ ...form, email: form.email.trim() });
    onSignedIn();
    navigate('/');
  });
  const errors = fieldErrors(submit.error);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (form.password.length < 12) {
      setTooShort(true);
      return;
    }
    setTooShort(false);
    submit.run();
  };
  return (
    <main className="narrow" id="main">
      <PageTitle title="Create the organisation">Create the organisation</PageTitle>
      <p>This works once, on a new installation: you become its first administrator.</p>
      <form onSubmit={onSubmit} noValidate>
        <Field label="Organisation name" error={errors.orgName}>
          {(p) => <input {...p} type="text" required value={form.orgName} onChange={set('orgName')} />}
        </Field>
        <Field label="Your name" error={errors.name}>
          {(p) => <input {...p} type="text" autoComplete="name" required value={form.name} onChange={set('name')} />}
        </Field>
        <Field label="E-mail address" error={errors.email}>
          {(p) => (
            <input {...p} type="email" autoComplete="username" required value={form.email} onChange={set('email')} />
          )}
        </Field>
        <Field
          label="Password"
          hint="At least 12 characters."
          error={tooShort ? 'Use at least 12 characters.' : errors.password}
        >
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="new-password"
              required
              value={form.password}
              onChange={set('password')}
            />
          )}
        </Field>
        <ErrorMessage error={submit.error} />
        <div className="actions">
          <button type="submit" disabled={submit.busy}>
            Create organisation
          </button>
          <Link to="/sign-in">Back to sign in</Link>
        </div>
      </form>
    </main>
  );
}

/** A recruiter or admin invited by e-mail sets a password (`/join?token=…`). */
export function JoinPage({ api, onSignedIn }: { api: ApiClient; onSignedIn: () => void }) {
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [tooShort, setTooShort] = useState(false);
  const submit = useAction(async () => {
    await api.acceptStaffInvitation({ token, password, ...(name.trim() ? { name: name.trim() } : {}) });
    onSignedIn();
    navigate('/', { replace: true });
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (password.length < 12) {
      setTooShort(true);
      return;
    }
    setTooShort(false);
    submit.run();
  };
  if (!token) {
    return (
      <main className="narrow" id="main">
        <PageTitle title="Join">This link is incomplete</PageTitle>
        <p>Open the link from your invitation e-mail exactly as it was sent.</p>
      </main>
    );
  }
  return (
    <main className="narrow" id="main">
      <PageTitle title="Join your team">Join your team on Parley</PageTitle>
      <form onSubmit={onSubmit} noValidate>
        <Field label="Your name" hint="Leave empty to keep the name you were invited with.">
          {(p) => (
            <input {...p} type="text" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
          )}
        </Field>
        <Field
          label="Choose a password"
          hint="At least 12 characters."
          error={tooShort ? 'Use at least 12 characters.' : undefined}
        >
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="new-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <ErrorMessage error={submit.error} />
        <div className="actions">
          <button type="submit" disabled={submit.busy}>
            Join
          </button>
        </div>
      </form>
    </main>
  );
}
