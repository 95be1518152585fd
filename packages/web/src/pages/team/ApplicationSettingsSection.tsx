import { useEffect, useId, useState, type FormEvent } from 'react';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';

const lines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

/** Which Node-RED nodes instances may install, and how many automatic snapshots they keep (team:update). */
export function ApplicationSettingsSection({ teamId }: { teamId: string }) {
  const { api } = useSession();
  const id = useId();
  const settings = useResource(() => api.get('/api/teams/{teamId}/application-settings', { path: { teamId } }), `${teamId}:application-settings`);
  const [allow, setAllow] = useState('');
  const [deny, setDeny] = useState('');
  const [retention, setRetention] = useState('50');
  const [saved, setSaved] = useState('');

  useEffect(() => {
    if (!settings.data) return;
    setAllow(settings.data.paletteAllow.join('\n'));
    setDeny(settings.data.paletteDeny.join('\n'));
    setRetention(String(settings.data.autoSnapshotRetention));
  }, [settings.data]);

  const save = useAction(async () => {
    setSaved('');
    const next = await api.put('/api/teams/{teamId}/application-settings', {
      path: { teamId },
      body: { paletteAllow: lines(allow), paletteDeny: lines(deny), autoSnapshotRetention: Number(retention) },
    });
    settings.setData(() => next);
    setSaved('Application settings saved. Running instances restart to pick up palette changes.');
  });

  return (
    <section aria-labelledby="app-settings-title">
      <h2 id="app-settings-title">Application settings</h2>
      {settings.loading && !settings.data && <Loading what="application settings" />}
      <ProblemNotice problem={settings.error} />
      {settings.data && (
        <form
          className="card stack"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <div className="grid-2">
            <div className="field">
              <label htmlFor={`${id}-allow`}>Palette allow list</label>
              <textarea
                id={`${id}-allow`}
                className="mono"
                rows={5}
                value={allow}
                onChange={(e) => setAllow(e.target.value)}
                aria-describedby={`${id}-allow-hint`}
                spellCheck={false}
              />
              <p className="hint" id={`${id}-allow-hint`}>
                npm package names or patterns, one a line (e.g. <code>node-red-contrib-modbus</code>, <code>@flowfuse/*</code>). Empty: any package; otherwise only these. Held to
                by the editor's palette and by every snapshot deployed.
              </p>
            </div>
            <div className="field">
              <label htmlFor={`${id}-deny`}>Palette deny list</label>
              <textarea
                id={`${id}-deny`}
                className="mono"
                rows={5}
                value={deny}
                onChange={(e) => setDeny(e.target.value)}
                aria-describedby={`${id}-deny-hint`}
                spellCheck={false}
              />
              <p className="hint" id={`${id}-deny-hint`}>
                Taken out of what is allowed. Where a line of each list matches, the more specific one wins. One a line.
              </p>
            </div>
          </div>
          <div className="field field-narrow">
            <label htmlFor={`${id}-retention`}>Automatic snapshots kept per instance</label>
            <input
              id={`${id}-retention`}
              type="number"
              min={1}
              max={10000}
              required
              value={retention}
              onChange={(e) => setRetention(e.target.value)}
              aria-describedby={`${id}-retention-hint`}
            />
            <p className="hint" id={`${id}-retention-hint`}>
              Each deploy from the editor takes one; older ones are removed beyond this number. Manual and imported snapshots are always kept.
            </p>
          </div>
          <ProblemNotice problem={save.error} />
          <div>
            <button type="submit" disabled={save.pending}>
              Save application settings
            </button>
          </div>
          <p className="muted" role="status" aria-live="polite">
            {saved}
          </p>
        </form>
      )}
    </section>
  );
}
