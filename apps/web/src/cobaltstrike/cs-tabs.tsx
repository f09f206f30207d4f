import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';

/** The Cobalt Strike section's two lists. */
export function CsTabs({ current }: { readonly current: 'configs' | 'servers' | null }) {
  return (
    <div className="chips">
      <Link to={paths.csConfigs()} className={current === 'configs' ? 'chip active' : 'chip'}>
        Beacon configs
      </Link>
      <Link to={paths.csServers()} className={current === 'servers' ? 'chip active' : 'chip'}>
        Team servers
      </Link>
    </div>
  );
}
