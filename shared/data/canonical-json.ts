/**
 * JSON with object keys sorted at every level and no whitespace, so equal values always give equal
 * text: what spec and contract hashes are computed over. Array order is kept (it is meaningful).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort()
        .map((k) => [k, sortKeys(record[k])]),
    );
  }
  return value;
}
