import type { ConduitsTable } from '../../db/schema.ts';
import { BROWSERS_END, PLATFORM_END, type DerivedConduit } from './derived-conduits.ts';

/** What the diagram draws: the SuC's zones with their SL-T vectors and assets, and every conduit. */
export interface DiagramInput {
  sucName: string;
  zones: Array<{ id: string; name: string; slTarget: readonly number[]; members: readonly string[] }>;
  conduits: ReadonlyArray<Pick<ConduitsTable, 'name' | 'from_zone_id' | 'to_zone_id' | 'protocols' | 'ports' | 'direction' | 'initiator'>>;
  derived: readonly DerivedConduit[];
}

const OUTSIDE = 'Outside the SuC';
const BOX_WIDTH = 280;
const GAP = 50;
const MARGIN = 24;
const PER_ROW = 3;
const LINE = 15;
const MEMBERS_SHOWN = 8;
const LEGEND_CHARS = 138;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
/** A legend line broken at spaces into lines of at most `max` characters, the later ones indented. */
function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const at = rest.lastIndexOf(' ', max);
    const cutAt = at > 8 ? at : max;
    lines.push(rest.slice(0, cutAt));
    rest = `      ${rest.slice(cutAt).trimStart()}`;
  }
  lines.push(rest);
  return lines;
}
const arrow = (direction: ConduitsTable['direction']) => (direction === 'from-to' ? '→' : direction === 'to-from' ? '←' : '↔');

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where, from 0 at (x1, y1) inside the box to 1 at (x2, y2), the line leaves the box. */
function exitAt(box: Box, x1: number, y1: number, x2: number, y2: number): number {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const tx = dx > 0 ? (box.x + box.w - x1) / dx : dx < 0 ? (box.x - x1) / dx : Infinity;
  const ty = dy > 0 ? (box.y + box.h - y1) / dy : dy < 0 ? (box.y - y1) / dy : Infinity;
  return Math.min(1, Math.max(0, Math.min(tx, ty)));
}

/**
 * The zones-and-conduits diagram (62443-3-2, ZCR 3), drawn by the platform so that it is the
 * same for everyone and follows the records: black on white with no colour carrying meaning,
 * text at print sizes, each conduit a numbered line whose protocols, ports, direction and
 * initiator are written out in the legend below it (labels on the lines would overlap).
 * Derived conduits (Flowgate's own) are dashed and numbered D1…, typed ones C1….
 */
export function sucDiagram(input: DiagramInput): string {
  const width = MARGIN * 2 + PER_ROW * BOX_WIDTH + (PER_ROW - 1) * GAP;
  const parts: string[] = [];
  const boxes = new Map<string, Box>();
  let y = MARGIN + 40;

  // Zones, a few to a row, each as tall as its list of assets.
  const zoneBoxes: string[] = [];
  for (let row = 0; row * PER_ROW < input.zones.length; row++) {
    const zones = input.zones.slice(row * PER_ROW, row * PER_ROW + PER_ROW);
    const heights = zones.map((z) => 56 + LINE * (Math.min(z.members.length, MEMBERS_SHOWN) + (z.members.length > MEMBERS_SHOWN ? 1 : 0) || 1));
    const rowHeight = Math.max(...heights);
    zones.forEach((zone, i) => {
      const box = { x: MARGIN + i * (BOX_WIDTH + GAP), y, w: BOX_WIDTH, h: rowHeight };
      boxes.set(zone.id, box);
      const lines = zone.members.length === 0 ? ['(no assets)'] : zone.members.slice(0, MEMBERS_SHOWN).map((m) => `• ${m}`);
      if (zone.members.length > MEMBERS_SHOWN) lines.push(`… and ${zone.members.length - MEMBERS_SHOWN} more`);
      zoneBoxes.push(
        `<g class="zone"><rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="6" fill="#fff" stroke="#000" stroke-width="2"/>` +
          `<text x="${box.x + 10}" y="${box.y + 20}" font-size="14" font-weight="bold">${escape(cut(zone.name, 30))}</text>` +
          `<text x="${box.x + 10}" y="${box.y + 38}" font-size="12">SL-T(FR1..FR7) = ${zone.slTarget.join(',')}</text>` +
          lines.map((line, k) => `<text x="${box.x + 10}" y="${box.y + 58 + k * LINE}" font-size="11">${escape(cut(line, 38))}</text>`).join('') +
          `</g>`,
      );
    });
    y += rowHeight + 70;
  }
  if (input.zones.length === 0) {
    zoneBoxes.push(`<text x="${MARGIN}" y="${y + 14}" font-size="12">No zones yet.</text>`);
    y += 60;
  }

  // What lies outside the zones, in one row below them: only the ends some conduit reaches.
  const typedOutside = input.conduits.some((c) => c.from_zone_id === null || c.to_zone_id === null);
  const ends = [...(typedOutside ? [OUTSIDE] : []), ...(input.derived.length ? [PLATFORM_END, BROWSERS_END] : [])];
  const endBoxes = ends.map((end, i) => {
    const box = { x: MARGIN + i * (BOX_WIDTH + GAP), y, w: BOX_WIDTH, h: 40 };
    boxes.set(end, box);
    return (
      `<g class="end"><rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="6" fill="#fff" stroke="#000" stroke-dasharray="6 4"/>` +
      `<text x="${box.x + box.w / 2}" y="${box.y + 25}" font-size="13" text-anchor="middle">${escape(end)}</text></g>`
    );
  });
  if (ends.length) y += 40 + 30;

  // Conduits: lines centre to centre, drawn under the boxes, each with its number.
  interface Drawn {
    label: string;
    from: string;
    to: string;
    dashed: boolean;
    legend: [string, string];
  }
  const nameOfEnd = (zoneId: string | null) => (zoneId === null ? OUTSIDE : (input.zones.find((z) => z.id === zoneId)?.name ?? zoneId));
  const drawn: Drawn[] = [
    ...input.conduits.map((c, i) => ({
      label: `C${i + 1}`,
      from: c.from_zone_id ?? OUTSIDE,
      to: c.to_zone_id ?? OUTSIDE,
      dashed: false,
      legend: [
        `C${i + 1}  ${nameOfEnd(c.from_zone_id)} ${arrow(c.direction)} ${nameOfEnd(c.to_zone_id)}: ${c.name}; initiated by ${c.initiator === 'either' ? 'either end' : nameOfEnd(c.initiator === 'from' ? c.from_zone_id : c.to_zone_id)}`,
        `    ${c.protocols || '(protocols not given)'}; ports ${c.ports || '(not given)'}`,
      ] as [string, string],
    })),
    ...input.derived.map((d, i) => ({
      label: `D${i + 1}`,
      from: d.fromZoneId ?? d.fromLabel,
      to: d.toLabel,
      dashed: true,
      legend: [
        `D${i + 1}  ${d.fromLabel} ${arrow(d.direction)} ${d.toLabel}: ${d.name}; initiated by ${d.initiator === 'from' ? d.fromLabel : d.initiator === 'to' ? d.toLabel : 'either end'} (derived)`,
        `    ${d.protocols}; ports ${d.ports}`,
      ] as [string, string],
    })),
  ];
  const lines: string[] = [];
  const markers: string[] = [];
  // Several conduits between the same two ends: the lines spread apart and each number sits at
  // its own point along them, so that every number stays readable.
  const pairOf = (c: Drawn) => [c.from, c.to].sort().join('|');
  const perPair = new Map<string, number>();
  for (const conduit of drawn) perPair.set(pairOf(conduit), (perPair.get(pairOf(conduit)) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const conduit of drawn) {
    const a = boxes.get(conduit.from);
    const b = boxes.get(conduit.to);
    if (!a || !b) continue;
    const pair = pairOf(conduit);
    const k = seen.get(pair) ?? 0;
    seen.set(pair, k + 1);
    const n = perPair.get(pair) ?? 1;
    const offset = (k - (n - 1) / 2) * 14;
    const [x1, y1, x2, y2] = [a.x + a.w / 2 + offset, a.y + a.h / 2, b.x + b.w / 2 + offset, b.y + b.h / 2];
    const sameRow = Math.abs(a.y - b.y) < 1;
    const adjacent = sameRow && Math.abs(a.x - b.x) <= BOX_WIDTH + GAP + 1;
    let mx: number;
    let my: number;
    if (sameRow && !adjacent) {
      // Two zones of one row with another between them: under the row, not through the zone between.
      const below = Math.max(a.y + a.h, b.y + b.h) + 16 + k * 10;
      lines.push(
        `<polyline points="${x1},${a.y + a.h} ${x1},${below} ${x2},${below} ${x2},${b.y + b.h}" fill="none" stroke="#000" stroke-width="1.5"${conduit.dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
      );
      [mx, my] = [(x1 + x2) / 2, below];
    } else {
      // Numbers go on the visible stretch of the line, between the two boxes' edges.
      const leaves = exitAt(a, x1, y1, x2, y2);
      const enters = 1 - exitAt(b, x2, y2, x1, y1);
      const t = leaves + ((enters - leaves) * (k + 1)) / (n + 1);
      [mx, my] = [x1 + (x2 - x1) * t, y1 + (y2 - y1) * t];
      lines.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#000" stroke-width="1.5"${conduit.dashed ? ' stroke-dasharray="5 4"' : ''}/>`);
    }
    markers.push(
      `<g class="conduit-label"><circle cx="${mx}" cy="${my}" r="12" fill="#fff" stroke="#000"/>` +
        `<text x="${mx}" y="${my + 4}" font-size="10" text-anchor="middle" font-weight="bold">${conduit.label}</text></g>`,
    );
  }

  // The legend: every conduit in words.
  const legendTop = y + 10;
  const legend = [`<text x="${MARGIN}" y="${legendTop}" font-size="13" font-weight="bold">Conduits</text>`];
  let ly = legendTop + 20;
  if (drawn.length === 0) legend.push(`<text x="${MARGIN}" y="${ly}" font-size="11">None.</text>`);
  for (const conduit of drawn) {
    for (const text of conduit.legend.flatMap((line) => wrap(line, LEGEND_CHARS))) {
      legend.push(`<text x="${MARGIN}" y="${ly}" font-size="11" font-family="monospace" xml:space="preserve">${escape(text)}</text>`);
      ly += LINE;
    }
    ly += 4;
  }
  const height = ly + MARGIN;

  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" role="img" aria-label="${escape(`Zones and conduits of ${input.sucName}`)}">`,
    `<title>${escape(`Zones and conduits of ${input.sucName}`)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${MARGIN}" y="${MARGIN + 12}" font-size="18" font-weight="bold">${escape(cut(input.sucName, 60))}: zones and conduits</text>`,
    ...lines,
    ...zoneBoxes,
    ...endBoxes,
    ...markers,
    ...legend,
    '</svg>',
  );
  return parts.join('\n');
}
