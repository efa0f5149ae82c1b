import type { TUser } from '@parley/contracts';
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { humanMessage, type ApiError } from './api/errors.ts';
import { JoinPage, SignInPage, SignUpPage } from './auth/auth-pages.tsx';
import { StaffContext, type Staff } from './auth/staff-context.tsx';
import { AuditPage } from './admin/audit-page.tsx';
import { LlmKeysPage } from './admin/llm-keys-page.tsx';
import { OrganizationPage } from './admin/organization-page.tsx';
import { UsersPage } from './admin/users-page.tsx';
import { TakePage } from './candidate/take-page.tsx';
import { InterviewBuilderPage } from './recruiter/interview-builder-page.tsx';
import { InterviewsPage } from './recruiter/interviews-page.tsx';
import { QuestionEditorPage } from './recruiter/question-editor-page.tsx';
import { QuestionsPage } from './recruiter/questions-page.tsx';
import { SessionReviewPage } from './recruiter/session-review-page.tsx';
import { SessionsPage } from './recruiter/sessions-page.tsx';
import { matchPath } from './router/match.ts';
import { Link, Redirect, navigate, useLocation } from './router/router.tsx';
import { STAFF_TOKENS_KEY, createApi } from './services.ts';
import { ErrorState, Loading, PageTitle } from './ui/ui.tsx';

interface Route {
  path: string;
  render: (params: Record<string, string>) => ReactNode;
  roles?: readonly TUser['role'][];
}

const STAFF = ['admin', 'recruiter'] as const;
const ADMIN = ['admin'] as const;

const ROUTES: Route[] = [
  { path: '/sessions', render: () => <SessionsPage />, roles: STAFF },
  { path: '/sessions/:id', render: (p) => <SessionReviewPage id={p.id!} />, roles: STAFF },
  { path: '/interviews', render: () => <InterviewsPage />, roles: STAFF },
  { path: '/interviews/new', render: () => <InterviewBuilderPage id={null} />, roles: STAFF },
  { path: '/interviews/:id', render: (p) => <InterviewBuilderPage id={p.id!} />, roles: STAFF },
  { path: '/questions', render: () => <QuestionsPage />, roles: STAFF },
  { path: '/questions/new', render: () => <QuestionEditorPage id={null} />, roles: STAFF },
  { path: '/questions/:id', render: (p) => <QuestionEditorPage id={p.id!} />, roles: STAFF },
  { path: '/admin/users', render: () => <UsersPage />, roles: ADMIN },
  { path: '/admin/audit', render: () => <AuditPage />, roles: ADMIN },
  { path: '/admin/llm-keys', render: () => <LlmKeysPage />, roles: ADMIN },
  { path: '/admin/organization', render: () => <OrganizationPage />, roles: ADMIN },
];

const NAV: { to: string; label: string; roles: readonly TUser['role'][] }[] = [
  { to: '/sessions', label: 'Sessions', roles: STAFF },
  { to: '/interviews', label: 'Interviews', roles: STAFF },
  { to: '/questions', label: 'Question bank', roles: STAFF },
  { to: '/admin/users', label: 'Users', roles: ADMIN },
  { to: '/admin/organization', label: 'Organisation', roles: ADMIN },
  { to: '/admin/llm-keys', label: 'Provider keys', roles: ADMIN },
  { to: '/admin/audit', label: 'Audit log', roles: ADMIN },
];

export function App() {
  const { pathname } = useLocation();
  // The candidate's pages have their own sign-in (the invitation link) and no staff chrome.
  if (pathname === '/take' || pathname.startsWith('/take/')) return <TakePage />;
  return <StaffApp pathname={pathname} />;
}

type UserState =
  | { status: 'loading' }
  | { status: 'signed-out'; notice?: string }
  | { status: 'error'; error: unknown }
  | { status: 'ok'; user: TUser };

function StaffApp({ pathname }: { pathname: string }) {
  const [state, setState] = useState<UserState>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  const api = useMemo(
    () =>
      createApi(STAFF_TOKENS_KEY, (error: ApiError) => setState({ status: 'signed-out', notice: humanMessage(error) })),
    [],
  );

  useEffect(() => {
    if (!api.signedIn) {
      setState((s) => (s.status === 'signed-out' ? s : { status: 'signed-out' }));
      return;
    }
    let cancelled = false;
    setState({ status: 'loading' });
    api.me().then(
      (user) => !cancelled && setState({ status: 'ok', user }),
      (error: unknown) => !cancelled && setState(api.signedIn ? { status: 'error', error } : { status: 'signed-out' }),
    );
    return () => {
      cancelled = true;
    };
  }, [api, tick]);

  const signedIn = () => setTick((t) => t + 1);

  if (pathname === '/join') return <JoinPage api={api} onSignedIn={signedIn} />;
  if (pathname === '/sign-up') return <SignUpPage api={api} onSignedIn={signedIn} />;

  if (state.status === 'loading') {
    return (
      <main id="main">
        <Loading label="your account" />
      </main>
    );
  }
  if (state.status === 'error') {
    return (
      <main id="main">
        <PageTitle title="Parley">Parley</PageTitle>
        <ErrorState error={state.error} onRetry={signedIn} />
      </main>
    );
  }
  if (state.status === 'signed-out') {
    if (pathname !== '/sign-in') {
      const back = pathname === '/' ? '' : `?next=${encodeURIComponent(pathname + window.location.search)}`;
      return <Redirect to={`/sign-in${back}`} />;
    }
    return (
      <SignInPage
        api={api}
        notice={state.notice}
        onSignedIn={() => {
          const next = new URLSearchParams(window.location.search).get('next');
          navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
          signedIn();
        }}
      />
    );
  }

  const user = state.user;
  if (user.role === 'candidate') {
    return (
      <main className="narrow" id="main">
        <PageTitle title="Parley">This area is for recruiters</PageTitle>
        <p>Candidates take their interview from the link in their invitation e-mail.</p>
      </main>
    );
  }
  const staff: Staff = {
    api,
    user,
    signOut: () => {
      void api.signOut().finally(() => {
        setState({ status: 'signed-out' });
        navigate('/sign-in');
      });
    },
  };
  if (pathname === '/' || pathname === '/sign-in') return <Redirect to="/sessions" />;

  let content: ReactNode = null;
  for (const route of ROUTES) {
    const params = matchPath(route.path, pathname);
    if (!params) continue;
    content =
      route.roles && !route.roles.includes(user.role) ? (
        <>
          <PageTitle title="Not allowed">Not allowed</PageTitle>
          <p>Your role does not give access to this page.</p>
        </>
      ) : (
        route.render(params)
      );
    break;
  }
  content ??= (
    <>
      <PageTitle title="Not found">Page not found</PageTitle>
      <p>
        There is nothing at this address. <Link to="/sessions">Go to sessions</Link>.
      </p>
    </>
  );

  return (
    <StaffContext.Provider value={staff}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link to="/sessions" className="brand">
          Parley
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => n.roles.includes(user.role)).map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={pathname.startsWith(n.to) ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {user.name} ({user.role})
          </span>
          <button type="button" className="secondary" onClick={staff.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">{content}</main>
    </StaffContext.Provider>
  );
}
