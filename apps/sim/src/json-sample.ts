/** Deepest nesting a sample follows; recursive schemas stop here with `null`. */
const MAX_DEPTH = 6;

/**
 * A deterministic value that conforms to the common subset of a JSON Schema (`type`, `enum`,
 * `const`, `properties`, `items`, `anyOf`/`oneOf`, `default`), used for tool-call arguments and
 * `json_schema` replies. Every string carries `sim:<fingerprint>` so the answer can still be
 * traced to its prompt.
 */
export function sampleFromSchema(schema: unknown, fingerprint: string, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > MAX_DEPTH) return null;
  const spec = schema as Record<string, unknown>;
  if ('const' in spec) return spec.const;
  if (Array.isArray(spec.enum) && spec.enum.length > 0) return spec.enum[0];
  if ('default' in spec) return spec.default;
  const variants = Array.isArray(spec.anyOf) ? spec.anyOf : Array.isArray(spec.oneOf) ? spec.oneOf : undefined;
  if (variants !== undefined && variants.length > 0) return sampleFromSchema(variants[0], fingerprint, depth + 1);

  const type = Array.isArray(spec.type) ? spec.type.find((candidate) => candidate !== 'null') : spec.type;
  switch (type) {
    case 'string':
      return `sim:${fingerprint}`;
    case 'integer':
      return typeof spec.minimum === 'number'
        ? Math.ceil(spec.minimum)
        : Number.parseInt(fingerprint.slice(0, 4), 16) % 100;
    case 'number':
      return typeof spec.minimum === 'number'
        ? spec.minimum
        : (Number.parseInt(fingerprint.slice(0, 4), 16) % 1000) / 10;
    case 'boolean':
      return Number.parseInt(fingerprint.slice(-1), 16) % 2 === 0;
    case 'null':
      return null;
    case 'array': {
      const minItems = typeof spec.minItems === 'number' ? Math.max(1, spec.minItems) : 1;
      return Array.from({ length: Math.min(minItems, 8) }, () => sampleFromSchema(spec.items, fingerprint, depth + 1));
    }
    case 'object':
    default: {
      if (typeof spec.properties !== 'object' || spec.properties === null) return type === 'object' ? {} : null;
      const result: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(spec.properties as Record<string, unknown>)) {
        result[key] = sampleFromSchema(property, fingerprint, depth + 1);
      }
      return result;
    }
  }
}
