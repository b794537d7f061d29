import type { ModelTimeline, TimelineEvent, TimelineKind } from './model-timeline.ts';

/**
 * A model timeline as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched,
 * so it can be mailed or stored beside the reports): a strip of the versions' lives, a table of the
 * versions with their trigger, metrics and approvals, then every event in order.
 */

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const KIND_COLOUR: Record<TimelineKind, string> = {
  registered: '#1565c0',
  status: '#6a1b9a',
  alias: '#00838f',
  rollout: '#ef6c00',
  'rollout-step': '#f9a825',
  'rollout-outcome': '#d84315',
  'drift-window': '#546e7a',
  retraining: '#2e7d32',
};
const VERDICT_COLOUR: Record<NonNullable<TimelineEvent['verdict']>, string> = {
  ok: '#2e7d32',
  healthy: '#2e7d32',
  warn: '#ef6c00',
  'insufficient-data': '#9e9e9e',
  alert: '#c62828',
  breach: '#c62828',
};

/** One row per version from its registration to now, with a mark per event of that version. */
function versionStrip(timeline: ModelTimeline): string {
  if (timeline.events.length === 0 || timeline.versions.length === 0) return '';
  const times = timeline.events.map((e) => Date.parse(e.at));
  const start = Math.min(...times);
  const end = Math.max(...times, Date.parse(timeline.generatedAt));
  const width = 900;
  const left = 60;
  const row = 26;
  const x = (iso: string) => left + ((Date.parse(iso) - start) / Math.max(end - start, 1)) * (width - left - 10);
  const rows = timeline.versions
    .map((v, i) => {
      const y = 20 + i * row;
      const marks = timeline.events
        .filter((e) => e.version === v.version)
        .map((e) => `<circle cx="${x(e.at).toFixed(1)}" cy="${y}" r="5" fill="${e.verdict ? VERDICT_COLOUR[e.verdict] : KIND_COLOUR[e.kind]}"><title>${escape(`${e.at} ${e.title}: ${e.detail}`)}</title></circle>`)
        .join('');
      return `<text x="4" y="${y + 4}" font-size="12">v${v.version}</text><line x1="${x(v.createdAt).toFixed(1)}" y1="${y}" x2="${x(v.endedAt ?? timeline.generatedAt).toFixed(1)}" y2="${y}" stroke="#b0bec5" stroke-width="3"/>${marks}`;
    })
    .join('');
  const height = 30 + timeline.versions.length * row;
  const axis = `<text x="${left}" y="${height - 2}" font-size="10">${escape(new Date(start).toISOString().slice(0, 16))}</text><text x="${width - 10}" y="${height - 2}" font-size="10" text-anchor="end">${escape(new Date(end).toISOString().slice(0, 16))}</text>`;
  return `<svg class="strip" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="versions over time">${rows}${axis}</svg>`;
}

function versionTable(timeline: ModelTimeline): string {
  const rows = timeline.versions
    .map((v) => {
      const metrics = Object.entries(v.metrics)
        .filter(([name]) => ['rocAuc', 'averagePrecision', 'logLoss', 'brierScore'].includes(name))
        .map(([name, value]) => `${escape(name)} ${value.toFixed(4)}`)
        .join(', ');
      const approvals = v.approvals.map((a) => `${escape(a.status)} by ${escape(a.by)} ${escape(a.at.slice(0, 16))}${a.reason ? ` (${escape(a.reason)})` : ''}`).join('<br>') || '–';
      const champion = timeline.champion === v.version ? ' <span class="badge">champion</span>' : '';
      return `<tr id="version-${v.version}"><td>v${v.version}${champion}</td><td>${escape(v.status)}</td><td>${escape(v.createdAt.slice(0, 16))}</td><td>${escape(v.trigger)}${v.requestedBy ? `<br><small>${escape(v.requestedBy)}</small>` : ''}</td><td>${escape(v.trainer)}<br><small>data ${escape(v.datasetVersion.slice(0, 12))}</small></td><td>${metrics || '–'}</td><td>${approvals}</td></tr>`;
    })
    .join('\n');
  return `<table class="versions"><tr><th>version</th><th>status</th><th>registered</th><th>trigger</th><th>trainer, data</th><th>metrics</th><th>decisions</th></tr>\n${rows}</table>`;
}

function eventList(events: readonly TimelineEvent[]): string {
  const items = [...events]
    .reverse()
    .map((e) => {
      const verdict = e.verdict ? ` <span class="verdict" style="background:${VERDICT_COLOUR[e.verdict]}">${escape(e.verdict)}</span>` : '';
      return `<li class="event kind-${e.kind}" style="border-left-color:${KIND_COLOUR[e.kind]}"><time>${escape(e.at.replace('T', ' ').slice(0, 19))}</time> <b>${escape(e.title)}</b>${verdict}${e.who ? ` <small>by ${escape(e.who)}</small>` : ''}<div>${escape(e.detail)}</div></li>`;
    })
    .join('\n');
  return `<ol class="events">\n${items}\n</ol>`;
}

export function renderTimelineHtml(timeline: ModelTimeline): string {
  const gaps = timeline.gaps.length ? `<div class="gaps"><b>Not shown:</b><ul>${timeline.gaps.map((g) => `<li>${escape(g)}</li>`).join('')}</ul></div>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(timeline.model)}: model timeline</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#212121;max-width:1100px}
h1{margin:0 0 4px}
.meta{color:#616161;margin-bottom:16px}
table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}
.badge{background:#00838f;color:#fff;border-radius:3px;padding:0 4px;font-size:11px}
.verdict{color:#fff;border-radius:3px;padding:0 5px;font-size:12px}
.events{list-style:none;padding:0}
.event{border-left:4px solid #9e9e9e;margin:6px 0;padding:2px 10px}
.event time{color:#616161;font-family:ui-monospace,monospace;font-size:12px}
.event div{color:#424242}
.gaps{background:#fff8e1;border:1px solid #ffe082;padding:6px 12px}
</style></head>
<body>
<h1>${escape(timeline.model)}</h1>
<div class="meta">${timeline.versions.length} version(s); champion ${timeline.champion === undefined ? 'none' : `v${timeline.champion}`}; ${timeline.events.length} events; generated ${escape(timeline.generatedAt)}</div>
${gaps}
${versionStrip(timeline)}
<h2>Versions</h2>
${versionTable(timeline)}
<h2>Events, newest first</h2>
${eventList(timeline.events)}
</body></html>
`;
}
