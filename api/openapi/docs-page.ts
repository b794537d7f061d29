/**
 * `/docs`: the OpenAPI document as one self-contained HTML page (inline CSS, no scripts, nothing
 * fetched from a CDN), rendered on the server from the same document `/openapi.json` serves.
 */

type Json = Record<string, unknown>;

/** A document field as text; absent or non-text fields render as nothing. */
const text = (value: unknown) => (typeof value === 'string' ? value : '');

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Inline `code` spans and paragraphs from the descriptions' light markdown. */
const prose = (text: string) =>
  text
    .split(/\n\n+/)
    .map((p) => `<p>${escapeHtml(p).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`)
    .join('');

const refName = (ref: string) => ref.split('/').pop() ?? ref;

function typeText(schema: Json | undefined): string {
  if (!schema) return 'any';
  if (typeof schema.$ref === 'string') return `<a href="#schema-${escapeHtml(refName(schema.$ref))}">${escapeHtml(refName(schema.$ref))}</a>`;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(' | ');
  if (schema.const !== undefined) return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>`;
  const options = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (Array.isArray(options)) return options.map((o) => typeText(o)).join(' | ');
  if (schema.type === 'array') return `array of ${typeText(schema.items as Json | undefined)}`;
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  if (typeof schema.type === 'string') return schema.type === 'object' && schema.additionalProperties !== false && !schema.properties ? 'object' : schema.type;
  return 'any';
}

function schemaTable(name: string, schema: Json): string {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  const rows = Object.entries(properties)
    .map(([prop, s]) => `<tr><td><code>${escapeHtml(prop)}</code>${required.has(prop) ? '' : ' <span class="opt">optional</span>'}</td><td>${typeText(s)}</td><td>${typeof s.description === 'string' ? prose(s.description) : ''}</td></tr>`)
    .join('');
  const description = typeof schema.description === 'string' ? prose(schema.description) : '';
  const table = rows ? `<table><thead><tr><th>field</th><th>type</th><th>meaning</th></tr></thead><tbody>${rows}</tbody></table>` : `<p>Type: ${typeText(schema)}</p>`;
  return `<section class="schema" id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${description}${table}<details><summary>JSON Schema</summary><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></details></section>`;
}

function operationHtml(path: string, method: string, op: Json): string {
  const params = ((op.parameters ?? []) as Json[]).map((p) => `<li><code>${escapeHtml(text(p.name))}</code> (${escapeHtml(text(p.in))}): ${escapeHtml(text(p.description))}</li>`).join('');
  const body = (op.requestBody as Json | undefined)?.content as Record<string, { schema: Json }> | undefined;
  const responses = Object.entries((op.responses ?? {}) as Record<string, Json>)
    .map(([status, r]) => {
      const content = r.content as Record<string, { schema: Json }> | undefined;
      const schema = content ? Object.values(content)[0]?.schema : undefined;
      return `<tr><td>${escapeHtml(status)}</td><td>${escapeHtml(text(r.description))}</td><td>${schema ? typeText(schema) : ''}</td></tr>`;
    })
    .join('');
  return `<section class="op" id="${escapeHtml(`${method}-${path}`)}">
<h2><span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h2>
<p class="summary">${escapeHtml(text(op.summary))}</p>${prose(text(op.description))}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}
${body ? `<h4>Request body</h4><p>${Object.entries(body).map(([type, c]) => `<code>${escapeHtml(type)}</code>: ${typeText(c.schema)}`).join('')}</p>` : ''}
<h4>Responses</h4><table><thead><tr><th>status</th><th>when</th><th>body</th></tr></thead><tbody>${responses}</tbody></table>
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{max-width:980px;margin:0 auto;padding:24px}nav{background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:12px 20px;margin:16px 0}
nav ul{margin:0;padding-left:18px}h1{margin-bottom:4px}h2{font-size:19px;margin:0 0 4px}h3{margin:0 0 6px}
.op,.schema{background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:16px 20px;margin:16px 0}
.method{display:inline-block;min-width:54px;text-align:center;border-radius:4px;color:#fff;font-size:13px;padding:2px 6px;vertical-align:2px}
.get{background:#2f7d4f}.post{background:#2c5fab}.summary{font-weight:600;margin:4px 0}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border-bottom:1px solid #eceef1;text-align:left;padding:6px 8px;vertical-align:top}
td p{margin:0}code{background:#f1f3f5;border-radius:3px;padding:0 3px;font-size:13px}pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px}
.opt{color:#7a828e;font-size:12px}`;

export function docsPage(document: Json): string {
  const info = document.info as Json;
  const paths = document.paths as Record<string, Record<string, Json>>;
  const schemas = ((document.components as Json).schemas ?? {}) as Record<string, Json>;
  const operations = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const toc = operations.map(({ path, method, op }) => `<li><a href="#${escapeHtml(`${method}-${path}`)}">${escapeHtml(method.toUpperCase())} ${escapeHtml(path)}</a> — ${escapeHtml(text(op.summary))}</li>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(text(info.title))}</title><style>${STYLE}</style></head><body><main>
<h1>${escapeHtml(text(info.title))}</h1>${prose(text(info.description))}
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(text(document.openapi))}). Authenticate with <code>Authorization: Bearer &lt;key&gt;</code> or <code>X-API-Key: &lt;key&gt;</code>.</p>
<nav><strong>Endpoints</strong><ul>${toc}</ul></nav>
${operations.map(({ path, method, op }) => operationHtml(path, method, op)).join('\n')}
<h2 style="margin-top:32px">Schemas</h2>
${Object.entries(schemas).map(([name, schema]) => schemaTable(name, schema)).join('\n')}
</main></body></html>`;
}
