import { useEffect } from 'react';
import { useSessionContext } from './auth/session.js';
import { AnalysisPage } from './pages/analysis-page.js';
import { CsConfigPage } from './pages/cs-config-page.js';
import { CsConfigsPage } from './pages/cs-configs-page.js';
import { CsServerPage } from './pages/cs-server-page.js';
import { CsServersPage } from './pages/cs-servers-page.js';
import { JobsPage } from './pages/jobs-page.js';
import { RulePage } from './pages/rule-page.js';
import { RulesetPage } from './pages/ruleset-page.js';
import { RulesetsPage } from './pages/rulesets-page.js';
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
    case 'rulesets':
      return 'Rulesets';
    case 'ruleset':
      return `Ruleset ${route.version}`;
    case 'rule':
      return `Rule ${route.ruleName}`;
    case 'cs-configs':
      return 'Beacon configs';
    case 'cs-config':
      return `Beacon config ${route.id.slice(0, 12)}`;
    case 'cs-servers':
      return 'Team servers';
    case 'cs-server':
      return `Team server ${route.id}`;
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
          {nav(paths.rulesets(), 'Rulesets', route.name === 'rulesets' || route.name === 'ruleset' || route.name === 'rule')}
          {nav(paths.csConfigs(), 'Cobalt Strike', route.name.startsWith('cs-'))}
        </nav>
        <span className="spacer" />
        <span className="whoami" title={session.remembered ? 'token remembered in this browser' : 'token kept for this tab only'}>
          {session.me === null ? 'role unknown' : `${session.me.name} · ${session.me.role}`}
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
        {route.name === 'rulesets' && <RulesetsPage />}
        {route.name === 'ruleset' && <RulesetPage version={route.version} />}
        {route.name === 'rule' && <RulePage name={route.ruleName} />}
        {route.name === 'cs-configs' && <CsConfigsPage />}
        {route.name === 'cs-config' && <CsConfigPage id={route.id} />}
        {route.name === 'cs-servers' && <CsServersPage />}
        {route.name === 'cs-server' && <CsServerPage id={route.id} />}
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
