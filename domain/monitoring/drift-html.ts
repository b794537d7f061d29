import type { DriftReport, FeatureDrift, Verdict } from '../../shared/monitoring.ts';
import { shares } from './drift-statistics.ts';

/**
 * A drift report as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched):
 * the window's verdict, then per feature its statistics and a histogram of reference vs current shares.
 */

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const colour: Record<Verdict, string> = { ok: '#2e7d32', warn: '#ef6c00', alert: '#c62828' };
const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '–' : x.toFixed(digits));

function histogramSvg(feature: FeatureDrift): string {
  const ref = shares(feature.histogram.reference);
  const cur = shares(feature.histogram.current);
  const bins = feature.histogram.bins.length;
  const width = 520;
  const height = 160;
  const top = Math.max(...ref, ...cur, 1e-9);
  const slot = width / Math.max(bins, 1);
  const bar = Math.max(1, slot / 2 - 1);
  const bars = feature.histogram.bins
    .map((label, i) => {
      const hr = ((ref[i] ?? 0) / top) * (height - 20);
      const hc = ((cur[i] ?? 0) / top) * (height - 20);
      const x = i * slot;
      return `<g><title>${escape(label)}: reference ${num((ref[i] ?? 0) * 100, 1)}%, current ${num((cur[i] ?? 0) * 100, 1)}%</title>` +
        `<rect x="${x.toFixed(1)}" y="${(height - hr).toFixed(1)}" width="${bar.toFixed(1)}" height="${hr.toFixed(1)}" fill="#90a4ae"/>` +
        `<rect x="${(x + bar).toFixed(1)}" y="${(height - hc).toFixed(1)}" width="${bar.toFixed(1)}" height="${hc.toFixed(1)}" fill="#1e88e5"/></g>`;
    })
    .join('');
  const labels = bins <= 12 ? feature.histogram.bins.map((label, i) => `<text x="${(i * slot + slot / 2).toFixed(1)}" y="${height + 14}" font-size="9" text-anchor="middle">${escape(label.length > 14 ? `${label.slice(0, 13)}…` : label)}</text>`).join('') : '';
  return `<svg width="${width}" height="${height + 20}" viewBox="0 0 ${width} ${height + 20}" role="img" aria-label="histogram of ${escape(feature.name)}">${bars}${labels}</svg>`;
}

function featureSection(f: FeatureDrift): string {
  const s = f.statistics;
  return `<section class="feature" id="feature-${escape(f.name)}">
<h2>${escape(f.name)} <span class="verdict" style="background:${colour[f.verdict]}">${f.verdict}</span> <small>${f.kind}, ${f.rows} values${f.weight === null ? '' : `, <span class="weight">weight ${(f.weight * 100).toFixed(1)}%</span>`}</small></h2>
<table><tr><th>PSI</th><th>Jensen–Shannon</th><th>Wasserstein/std</th><th>chi-square p</th><th>KS D (p)</th><th>null rate ref → cur</th></tr>
<tr><td>${num(s.psi)}</td><td>${num(s.jensenShannon)}</td><td>${num(s.wasserstein)}</td><td>${s.chiSquare ? s.chiSquare.pValue.toExponential(2) : '–'}</td><td>${s.ks ? `${num(s.ks.statistic)} (${s.ks.pValue.toExponential(2)})` : '–'}</td><td>${num(f.nullRate.reference)} → ${num(f.nullRate.current)}</td></tr></table>
${f.reasons.length ? `<ul class="reasons">${f.reasons.map((r) => `<li>${escape(r)}</li>`).join('')}</ul>` : ''}
${histogramSvg(f)}
</section>`;
}

export function renderDriftHtml(report: DriftReport): string {
  const title = `Drift: ${report.model} v${report.version}, ${report.window.from} – ${report.window.until}`;
  const sections = [...report.features, ...(report.score ? [report.score] : []), ...(report.classProbabilities ?? [])].map(featureSection).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#212121;max-width:1100px}
.verdict{color:#fff;padding:2px 8px;border-radius:4px;font-size:.8em;text-transform:uppercase}
.feature{border-top:1px solid #ddd;padding:8px 0}
table{border-collapse:collapse;font-size:.9em}td,th{padding:2px 10px;text-align:left}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
small{color:#757575;font-weight:normal}
</style></head><body>
<h1>${escape(title)}</h1>
<p id="summary">Verdict: <span class="verdict" style="background:${colour[report.verdict]}">${report.verdict}</span>
${report.judged ? '' : `<strong>not judged: ${report.rows} rows &lt; ${report.thresholds.minWindowRows}</strong>`}
${report.rows} predictions; ${report.drifted.length} of ${report.features.length} features drifted, carrying ${(report.driftShare * 100).toFixed(0)}% of the model's reliance (${report.weighting === 'importance' ? 'features weighted by their permutation importance at training' : 'no importance recorded: features weigh equally'}; alert at ${(report.thresholds.datasetDriftShare * 100).toFixed(0)}%)${report.drifted.length ? `: ${report.drifted.map(escape).join(', ')}` : ''}.</p>
<p class="legend"><span style="background:#90a4ae"></span>reference<span style="background:#1e88e5"></span>current window</p>
${sections}
</body></html>
`;
}
