import { esc } from '../html.ts';

/** Who is looking: the signed-in key's holder, whether it may act (admin scope, on some model and on which), and the session's CSRF token for its forms. */
export interface Viewer {
  id: string;
  canAct: boolean;
  canDecide: (model: string) => boolean;
  /** Absent when the page is read with an API key header instead of a session (no forms then). */
  csrfToken?: string;
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232b;background:#f6f7f9}
header{background:#1d2a3a;color:#fff;padding:8px 20px;display:flex;gap:18px;align-items:center}
header a{color:#cfe3ff;text-decoration:none}header .who{margin-left:auto;font-size:12px;color:#aab}
header form{display:inline}header button{font-size:12px}
main{padding:16px 20px;max-width:1280px}
h1{font-size:20px;margin:4px 0 12px}h2{font-size:16px;margin:22px 0 8px}
table{border-collapse:collapse;background:#fff;margin:4px 0 12px}th,td{border:1px solid #dde;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{background:#fff;border:1px solid #dde}
.chart .grid{stroke:#eceef2}.chart .axes{fill:none;stroke:#889}.chart .tick,.chart .legend{font-size:10px;fill:#445}
.chart .label{font-size:11px;fill:#334}.chart .title{font-size:12px;font-weight:600;fill:#223}
.chart path.s1,.chart line.s1{stroke:#1f77b4;stroke-width:2}.chart path.s2,.chart line.s2{stroke:#ff7f0e;stroke-width:1.5;stroke-dasharray:5 3}
.chart circle.s1{fill:#1f77b4}.chart circle.s2{fill:#ff7f0e}.chart .ref{stroke:#999;stroke-dasharray:3 3;stroke-width:1}
.chart rect.b1{fill:#1f77b4}.chart rect.b2{fill:#ff7f0e;opacity:.8}.chart circle.dot{fill:#1f77b4;opacity:.45}
.chart .bar-passed{fill:#2ca02c}.chart .bar-failed{fill:#d62728}.chart .bar-skipped{fill:#bbb}.chart .threshold{stroke:#d62728;stroke-width:1.5;stroke-dasharray:4 2}
.confusion td.cm{text-align:right;min-width:48px}
.pass,.ok,.healthy,.current,.approved,.production{color:#1a7f37;font-weight:600}.fail,.alert,.breach,.stale,.rejected,.rolled-back{color:#c62828;font-weight:600}
.warn,.candidate,.canary,.insufficient-data,.insufficient-labels,.skipped{color:#a15c00;font-weight:600}
.gaps{background:#fff4e5;border:1px solid #f0c36d;padding:6px 10px}.note{color:#667;font-size:12px}.flash{background:#e6f4ea;border:1px solid #9bd3ae;padding:6px 10px}
code{font-size:12px}
`;

const NAV = [
  ['models', '/console/models'],
  ['approvals', '/console/approvals'],
] as const;

/** A whole page: inline style (no asset is fetched from anywhere), the navigation, who is signed in, and a sign-out form. */
export function layout(title: string, viewer: Viewer | undefined, body: string, json?: string): string {
  const nav = NAV.map(([name, href]) => `<a href="${href}">${name}</a>`).join('');
  const who = viewer
    ? `<span class="who">signed in as <b>${esc(viewer.id)}</b>${viewer.canAct ? ' (admin)' : ' (read-only)'}</span>` +
      (viewer.csrfToken ? `<form method="post" action="/console/session/end"><input type="hidden" name="csrf" value="${esc(viewer.csrfToken)}"><button>sign out</button></form>` : '')
    : '';
  const data = json ? `<p class="note">The data of this page: <a href="${esc(json)}"><code>${esc(json)}</code></a></p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)} · sluice console</title><style>${STYLE}</style></head><body><header><b>sluice</b>${nav}${who}</header><main>${body}${data}</main></body></html>`;
}

export const gapsBlock = (gaps: readonly string[]) => (gaps.length ? `<div class="gaps"><b>Not everything could be read:</b><ul>${gaps.map((g) => `<li>${esc(g)}</li>`).join('')}</ul></div>` : '');

export const statusTag = (status: string) => `<span class="${esc(status)}">${esc(status)}</span>`;

export const runLink = (workflowId: string, temporalUi: string) => `<a href="${esc(temporalUi)}" data-temporal-run="${esc(workflowId)}">${esc(workflowId)}</a>`;

/** Links of a model's pages. */
export const modelNav = (name: string) => {
  const base = `/console/models/${encodeURIComponent(name)}`;
  return `<p><a href="${base}">versions</a> · <a href="${base}/rollouts">rollouts</a> · <a href="${base}/monitoring">monitoring</a></p>`;
};
