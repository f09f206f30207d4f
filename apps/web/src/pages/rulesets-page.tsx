import { useState } from 'react';
import type { RulesetList, RulesetVersionSummary } from '@malpipe/api-client';
import { useSession } from '../auth/session.js';
import { StateBadge } from '../components/badges.js';
import { ErrorBox } from '../components/error-box.js';
import { useAction } from '../data/use-action.js';
import { useResource } from '../data/use-resource.js';
import { formatDate, formatRelative, shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { CheckBadge } from '../rulesets/ruleset-badges.js';

/** Asks before changing what every worker scans with. */
function confirmed(message: string): boolean {
  return window.confirm(message);
}

export function RulesetsPage() {
  const { capabilities } = useSession();
  const list = useResource<RulesetList>('rulesets', (api) => api.listRulesets());
  // Only the latest change is reported: a deploy's notice must not outlive a later rollback.
  const [last, setLast] = useState<'deploy' | 'rollback' | null>(null);
  const [activated, setActivated] = useState<RulesetVersionSummary | null>(null);
  const changed = (version: RulesetVersionSummary): void => {
    setActivated(version);
    list.reload();
  };
  const deploy = useAction((api, version: string) => api.deployRuleset(version), changed);
  const rollback = useAction((api) => api.rollbackRuleset(), changed);
  const busy = deploy.pending || rollback.pending;
  const start = (action: 'deploy' | 'rollback', run: () => void): void => {
    setLast(action);
    setActivated(null);
    run();
  };

  if (list.error !== null && list.data === null) return <ErrorBox error={list.error} title="Cannot list ruleset versions" />;
  if (list.data === null) return <p className="muted">Loading…</p>;
  const { active, versions } = list.data;

  return (
    <div className="page rulesets-page">
      <div className="page-head">
        <h2>YARA ruleset versions</h2>
        {capabilities.deployRulesets && (
          <button
            type="button"
            disabled={busy || active === null}
            title="Return to the version deployed before the active one"
            onClick={() => {
              if (confirmed('Roll back to the previously deployed ruleset? Workers reload it for new analyses.')) start('rollback', () => rollback.run());
            }}
          >
            {rollback.pending ? 'Rolling back…' : 'Roll back'}
          </button>
        )}
      </div>
      <p className="muted small">
        Imported with <code>malpipe rules import</code>; each version keeps its files, its diff against the parent and the quality-gate report.
        {active === null ? ' No version is active: YARA scans use no rules.' : ''}
      </p>
      {activated !== null && (
        <div className="notice live">
          Version <Link to={paths.ruleset(activated.id)} className="mono">{activated.id}</Link> is now active; workers load it for the next analyses.
        </div>
      )}
      {last === 'deploy' && deploy.error !== null && <ErrorBox error={deploy.error} title="Deploy failed" />}
      {last === 'rollback' && rollback.error !== null && <ErrorBox error={rollback.error} title="Rollback failed" />}
      {versions.length === 0 ? (
        <div className="empty">No ruleset imported yet. Run <code>malpipe rules import rules/examples</code>.</div>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Version</th>
              <th>State</th>
              <th>Created</th>
              <th className="num">Rules</th>
              <th className="num">Files</th>
              <th>Quality gate</th>
              <th>Parent</th>
              <th>Source</th>
              <th>Activated</th>
              {capabilities.deployRulesets && <th />}
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => {
              const isActive = v.id === active;
              return (
                <tr key={v.id} className={isActive ? 'row-active' : undefined}>
                  <td className="mono">
                    <Link to={paths.ruleset(v.id)}>{v.id}</Link>
                    {isActive && <span className="active-mark" title="the ruleset workers scan with"> ● active</span>}
                  </td>
                  <td>
                    <StateBadge state={v.state} />
                  </td>
                  <td className="small" title={formatDate(v.createdAt)}>
                    {formatRelative(v.createdAt)}
                  </td>
                  <td className="num">{v.ruleCount}</td>
                  <td className="num">{v.fileCount}</td>
                  <td>
                    <CheckBadge passed={v.checkPassed} />
                  </td>
                  <td className="mono small">{v.parentId === null ? '—' : <Link to={paths.ruleset(v.parentId)}>{v.parentId}</Link>}</td>
                  <td className="small">
                    {v.sourcePath ?? '—'}
                    {v.gitCommit !== null && <span className="mono muted"> @{shortHash(v.gitCommit, 10)}</span>}
                  </td>
                  <td className="small" title={formatDate(v.activatedAt)}>
                    {v.activatedAt === null ? '—' : formatRelative(v.activatedAt)}
                  </td>
                  {capabilities.deployRulesets && (
                    <td>
                      {!isActive && (
                        <button
                          type="button"
                          disabled={busy}
                          onClick={() => {
                            const gate = v.checkPassed === false ? ' Its quality gate FAILED.' : '';
                            if (confirmed(`Deploy ruleset ${v.id}?${gate} Workers reload it for new analyses.`)) start('deploy', () => deploy.run(v.id));
                          }}
                        >
                          {deploy.pending ? 'Deploying…' : 'Deploy'}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
