/**
 * Hand-written SVG bar charts (no charting dependency): horizontal bars on a log scale, grouped per workload, one
 * colour per series. The README embeds the files `npm run bench` writes.
 */

/** One group of bars (a workload). */
export interface BarGroup {
  readonly label: string;
  /** One value per series, in series order; `null` for no bar. */
  readonly values: readonly (number | null)[];
  /** A short note after a bar (e.g. "extrapolated"), per series. */
  readonly notes?: readonly (string | undefined)[];
}

const COLOURS = ['#9aa5b1', '#1d7a4e', '#c2410c', '#2563eb'] as const;

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const compact = (n: number) =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2);

/** A log-scale horizontal bar chart as an SVG document. */
export function barChart(options: {
  title: string;
  unit: string;
  series: readonly string[];
  groups: readonly BarGroup[];
}): string {
  const { series, groups } = options;
  const width = 760;
  const left = 150;
  const right = 150;
  const barHeight = 16;
  const groupGap = 18;
  const top = 58;
  const all = groups.flatMap((g) => g.values.filter((v): v is number => v !== null && v > 0));
  const max = Math.max(10, ...all);
  const min = Math.min(1, ...all);
  const lo = 10 ** Math.floor(Math.log10(min));
  const hi = 10 ** Math.ceil(Math.log10(max));
  const x = (v: number) =>
    left +
    ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) *
      (width - left - right);
  const groupHeight = series.length * barHeight + groupGap;
  const height = top + groups.length * groupHeight + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="20" font-size="15" font-weight="600">${escapeXml(options.title)}</text>`,
  ];
  series.forEach((name, i) => {
    const lx = left + i * 150;
    parts.push(
      `<rect x="${lx}" y="30" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${lx + 16}" y="40">${escapeXml(name)}</text>`,
    );
  });
  for (let decade = lo; decade <= hi; decade *= 10) {
    const gx = x(decade);
    parts.push(
      `<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${height - 26}" stroke="#e5e7eb"/>`,
      `<text x="${gx}" y="${height - 12}" text-anchor="middle" fill="#6b7280">${compact(decade)}</text>`,
    );
  }
  parts.push(
    `<text x="${left - 24}" y="${height - 12}" text-anchor="end" fill="#6b7280">${escapeXml(options.unit)}, log scale</text>`,
  );
  groups.forEach((group, g) => {
    const gy = top + g * groupHeight;
    parts.push(
      `<text x="${left - 8}" y="${gy + (series.length * barHeight) / 2 + 4}" text-anchor="end" font-weight="600">${escapeXml(group.label)}</text>`,
    );
    group.values.forEach((value, i) => {
      if (value === null) return;
      const y = gy + i * barHeight;
      const w = Math.max(1, x(Math.max(value, lo)) - left);
      const note = group.notes?.[i];
      parts.push(
        `<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${barHeight - 4}" fill="${COLOURS[i % COLOURS.length]}"/>`,
        `<text x="${(left + w + 4).toFixed(1)}" y="${y + barHeight - 4}">${escapeXml(compact(value))}${note ? ` ${escapeXml(note)}` : ''}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
