import type { Clock, RequestContext } from '../../context.ts';
import { ValidationError } from '../../http/errors.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { SnapshotsService } from '../snapshots/snapshots.service.ts';
import type { TeamsService } from '../teams/teams.service.ts';
import { DEFAULT_AUTO_SNAPSHOT_RETENTION, type ApplicationsService } from './applications.service.ts';
import type { ApplicationsStore } from './applications.store.ts';
import type { InstanceRuntime } from './instance-runtime.ts';

/** An npm package name, or a pattern of them with `*`. */
const NPM_PATTERN = /^(@[a-z0-9~*][a-z0-9-._~*]*\/)?[a-z0-9~*][a-z0-9-._~*]*$/;

export interface TeamApplicationSettings {
  paletteAllow: string[];
  paletteDeny: string[];
  autoSnapshotRetention: number;
}

export interface TeamSettingsDeps {
  applicationsStore: ApplicationsStore;
  applications: ApplicationsService;
  snapshots: SnapshotsService;
  teams: TeamsService;
  runtime: InstanceRuntime;
  auditLog: AuditLog;
  clock: Clock;
}

/** A team's settings for its applications: the Node-RED palette lists and how many automatic snapshots to keep. */
export function createTeamSettingsService({ applicationsStore, applications, snapshots, teams, runtime, auditLog, clock }: TeamSettingsDeps) {
  return {
    async get(teamId: string): Promise<TeamApplicationSettings> {
      const settings = await applicationsStore.teamSettings(teamId);
      const palette = await applications.palette(teamId);
      return { paletteAllow: palette.allow, paletteDeny: palette.deny, autoSnapshotRetention: settings?.auto_snapshot_retention ?? DEFAULT_AUTO_SNAPSHOT_RETENTION };
    },

    /**
     * Replaces them. Every instance of the team picks the palette lists up (they are part of its
     * Node-RED settings), and a lower retention prunes automatic snapshots now.
     */
    async update(teamId: string, settings: TeamApplicationSettings, ctx: RequestContext): Promise<TeamApplicationSettings> {
      await teams.requireTeam(teamId);
      const invalid = [...settings.paletteAllow, ...settings.paletteDeny].filter((name) => !NPM_PATTERN.test(name));
      if (invalid.length) {
        throw new ValidationError(
          `Not npm package names (or patterns of them with *): ${invalid
            .slice(0, 5)
            .map((n) => JSON.stringify(n))
            .join(', ')}.`,
          invalid
            .slice(0, 20)
            .map((name) => ({ field: settings.paletteAllow.includes(name) ? 'paletteAllow' : 'paletteDeny', message: `${JSON.stringify(name)} is not an npm package name` })),
        ).audited({
          event: 'team.settings.updated',
          outcome: 'failure',
          target: { type: 'team', id: teamId },
          teamId,
          details: { reason: 'not npm package names', invalid: invalid.slice(0, 20) },
        });
      }
      const instances = await auditLog.transaction(ctx, async (tx) => {
        // Read in the transaction: retention below must see the targets as they are now.
        const ofTeam = await applicationsStore.instancesOfTeam(teamId, tx.trx);
        await applicationsStore.upsertTeamSettings(
          {
            team_id: teamId,
            palette_allow: JSON.stringify(settings.paletteAllow),
            palette_deny: JSON.stringify(settings.paletteDeny),
            auto_snapshot_retention: settings.autoSnapshotRetention,
            updated_at: clock.now().toISOString(),
          },
          tx.trx,
        );
        // Palette lists are part of each instance's Node-RED settings: every agent must pick them up.
        for (const i of ofTeam) await applicationsStore.bumpGeneration(i.id, clock.now().toISOString(), tx.trx);
        // A lower retention applies now, not at each instance's next deploy from the editor.
        for (const i of ofTeam) await snapshots.pruneAutomatic(i, settings.autoSnapshotRetention, tx);
        await tx.record({ event: 'team.settings.updated', target: { type: 'team', id: teamId }, teamId, details: { ...settings } });
        return ofTeam;
      });
      for (const i of instances) runtime.wake(i.id);
      return settings;
    },
  };
}

export type TeamSettingsService = ReturnType<typeof createTeamSettingsService>;
