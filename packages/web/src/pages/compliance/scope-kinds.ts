import type { ScopeEntry } from '../../types.ts';

export const KIND_LABELS: Record<ScopeEntry['kind'], string> = {
  site: 'Site',
  team: 'Team',
  application: 'Application',
  instance: 'Instance',
  device: 'Device',
  asset: 'Asset',
};

/** The seven foundational requirements of IEC 62443-3-3, in order: an SL-T vector's positions. */
export const FOUNDATIONAL_REQUIREMENTS = [
  'FR1 Identification and authentication control',
  'FR2 Use control',
  'FR3 System integrity',
  'FR4 Data confidentiality',
  'FR5 Restricted data flow',
  'FR6 Timely response to events',
  'FR7 Resource availability',
] as const;
