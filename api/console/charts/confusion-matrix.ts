import { esc } from '../html.ts';

/** The confusion matrix as a table shaded by each actual class's share (rows sum to 1), counts written in the cells. */
export function confusionMatrix(classes: readonly string[], counts: readonly (readonly number[])[]): string {
  const head = `<tr><th>actual \\ predicted</th>${classes.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const rows = counts
    .map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      const cells = row.map((n, j) => `<td class="cm" style="background:rgba(31,119,180,${(n / total).toFixed(3)})" data-actual="${esc(classes[i])}" data-predicted="${esc(classes[j])}">${n}</td>`).join('');
      return `<tr><th>${esc(classes[i])}</th>${cells}</tr>`;
    })
    .join('');
  return `<table class="confusion" data-chart="confusion">${head}${rows}</table>`;
}
