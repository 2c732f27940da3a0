/** A plain SVG bar chart of events/s and CPU ms per event by variant, written beside the JSON. */
interface Row {
  variant: string;
  eventsPerSecond: number;
  cpuMsPerEvent: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderChart(rows: Row[]): string {
  const barH = 22;
  const gap = 10;
  const labelW = 230;
  const panelW = 330;
  const top = 50;
  const height = top + rows.length * (barH + gap) + 30;
  const width = labelW + 2 * panelW + 60;
  const maxRate = Math.max(...rows.map((r) => r.eventsPerSecond), 1);
  const maxCpu = Math.max(...rows.map((r) => r.cpuMsPerEvent), 0.001);
  const bars = rows
    .map((r, i) => {
      const y = top + i * (barH + gap);
      const rateW = (r.eventsPerSecond / maxRate) * (panelW - 70);
      const cpuW = (r.cpuMsPerEvent / maxCpu) * (panelW - 70);
      const colour = r.variant.startsWith('relay') ? '#2f6fdb' : '#8a8f98';
      return [
        `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.variant)}</text>`,
        `<rect x="${labelW}" y="${y}" width="${rateW.toFixed(1)}" height="${barH}" fill="${colour}"/>`,
        `<text x="${labelW + rateW + 4}" y="${y + 15}">${Math.round(r.eventsPerSecond).toLocaleString('en-US')}</text>`,
        `<rect x="${labelW + panelW + 20}" y="${y}" width="${cpuW.toFixed(1)}" height="${barH}" fill="${colour}" opacity="0.7"/>`,
        `<text x="${labelW + panelW + 24 + cpuW}" y="${y + 15}">${r.cpuMsPerEvent.toFixed(3)}</text>`,
      ].join('\n');
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="${labelW}" y="24" font-weight="bold">events/s (higher is better)</text>
<text x="${labelW + panelW + 20}" y="24" font-weight="bold">CPU ms per event (lower is better)</text>
${bars}
</svg>
`;
}
