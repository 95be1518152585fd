import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { Field } from '../../components/Field.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { When } from '../../components/When.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import { nameOf, type FleetData } from './fleet-data.ts';

/** Devices offline longer than the team allows, and (for an owner) the threshold and the webhook that hears of them. */
export function AlertsSection({ teamId, fleet, mayConfigure, onChanged }: { teamId: string; fleet: FleetData; mayConfigure: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const [minutes, setMinutes] = useState(fleet.settings.offlineAlertMinutes === null ? '' : String(fleet.settings.offlineAlertMinutes));
  const [webhook, setWebhook] = useState(fleet.settings.alertWebhookUrl ?? '');
  const save = useAction(async () => {
    await api.put('/api/teams/{teamId}/fleet-settings', {
      path: { teamId },
      body: { offlineAlertMinutes: minutes ? Number(minutes) : null, alertWebhookUrl: webhook.trim() || null },
    });
    onChanged();
  });

  return (
    <section aria-labelledby="alerts-title">
      <h2 id="alerts-title">Offline alerts</h2>
      {fleet.settings.offlineAlertMinutes === null ? (
        <p className="muted">No offline alerts: {mayConfigure ? 'set a threshold below.' : 'a team owner can set a threshold.'}</p>
      ) : (
        <p className="muted">
          A device offline for {fleet.settings.offlineAlertMinutes} minute(s) raises an alert{fleet.settings.alertWebhookUrl ? ", also sent to the team's webhook" : ''}.
        </p>
      )}
      {fleet.alerts.length > 0 && (
        <ul className="notice notice-error alert-list" aria-label="Devices in alert">
          {fleet.alerts.map((a) => (
            <li key={a.deviceId}>
              <Link to={`/devices/${a.deviceId}`}>{a.name}</Link> at {nameOf(fleet.sites, a.siteId)}: offline since <When at={a.offlineSince} />
            </li>
          ))}
        </ul>
      )}
      {mayConfigure && (
        <form
          className="card stack compact-form"
          aria-labelledby="alert-settings-title"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <h3 id="alert-settings-title">Alert settings</h3>
          <div className="form-row form-row-end">
            <Field label="Alert after (minutes offline)" type="number" min={1} max={10080} value={minutes} onChange={(e) => setMinutes(e.target.value)} hint="Empty: no alerts." />
            <Field
              label="Webhook URL"
              type="url"
              maxLength={2000}
              value={webhook}
              onChange={(e) => setWebhook(e.target.value)}
              hint="Receives a JSON POST when a device goes offline and when it is back."
            />
            <div className="form-row-submit">
              <button type="submit" className="primary" disabled={save.pending}>
                Save alert settings
              </button>
            </div>
          </div>
          <ProblemNotice problem={save.error} />
        </form>
      )}
    </section>
  );
}
