import { useEffect } from 'react';
import { useSessionContext } from './auth/session.js';
import { AnalysisPage } from './pages/analysis-page.js';
import { JobsPage } from './pages/jobs-page.js';
import { SamplePage } from './pages/sample-page.js';
import { SamplesPage } from './pages/samples-page.js';
import { SignInPage } from './pages/sign-in-page.js';
import { UploadPage } from './pages/upload-page.js';
import { Link, navigate, useLocation } from './routing/router.js';
import { matchRoute, paths, type Route } from './routing/routes.js';

function title(route: Route): string {
  switch (route.name) {
    case 'samples':
      return 'Samples';
    case 'sample':
      return `Sample ${route.hash.slice(0, 12)}`;
    case 'upload':
      return 'Upload';
    case 'analysis':
      return `Analysis ${route.id}`;
    case 'jobs':
      return 'Jobs';
    case 'sign-in':
      return 'Sign in';
    case 'not-found':
      return 'Not found';
  }
}

export function App() {
  const location = useLocation();
  const route = matchRoute(location.pathname);
  const { session, signOut } = useSessionContext();

  useEffect(() => {
    document.title = `${title(route)} · malpipe`;
  }, [route]);

  const signedOutElsewhere = session === null && route.name !== 'sign-in';
  useEffect(() => {
    if (signedOutElsewhere) navigate(paths.signIn(`${location.pathname}${location.search}`), { replace: true });
  }, [signedOutElsewhere, location.pathname, location.search]);

  if (session === null || route.name === 'sign-in') return <SignInPage />;

  const nav = (to: string, label: string, active: boolean) => (
    <Link to={to} className={active ? 'nav-link active' : 'nav-link'}>
      {label}
    </Link>
  );
  const { capabilities } = session;
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">
          malpipe
        </Link>
        <nav>
          {nav('/', 'Samples', route.name === 'samples' || route.name === 'sample')}
          {capabilities.submit && nav(paths.upload(), 'Upload', route.name === 'upload')}
          {nav(paths.jobs(), capabilities.manageJobs ? 'Jobs' : 'Analyses', route.name === 'jobs' || route.name === 'analysis')}
        </nav>
        <span className="spacer" />
        <span className="whoami" title={session.remembered ? 'token remembered in this browser' : 'token kept for this tab only'}>
          {capabilities.role ?? 'role unknown'}
          {session.remembered ? ' · remembered' : ''}
        </span>
        <button type="button" className="link-button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main className="content">
        {route.name === 'samples' && <SamplesPage />}
        {route.name === 'sample' && <SamplePage hash={route.hash} />}
        {route.name === 'upload' && <UploadPage />}
        {route.name === 'analysis' && <AnalysisPage id={route.id} />}
        {route.name === 'jobs' && <JobsPage />}
        {route.name === 'not-found' && (
          <div className="empty">
            <h2>Not found</h2>
            <p>
              No page at <code>{route.path}</code>. <Link to="/">Back to the samples</Link>.
            </p>
          </div>
        )}
      </main>
    </div>
  );
}
