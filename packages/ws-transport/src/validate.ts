/**
 * Declarative param checks for RPC methods: the first bad field becomes a -32602 error whose
 * `data` names the field and what was expected, so clients can show a precise message.
 */
import { invalidParams } from '@tether/core';

/** How one param is checked. `min`/`max` bound numbers; `maxLength` bounds strings and arrays. */
export type ParamSpec = {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'string[]';
  optional?: boolean;
  min?: number;
  max?: number;
  maxLength?: number;
  nonEmpty?: boolean;
};

/** Param name → spec. Fields not listed are allowed and passed through untouched. */
export type ParamsSchema = Record<string, ParamSpec>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matchesType(value: unknown, type: ParamSpec['type']): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
  }
}

function describe(spec: ParamSpec): string {
  const parts: string[] = [spec.nonEmpty ? `non-empty ${spec.type}` : spec.type];
  if (spec.min !== undefined) parts.push(`>= ${spec.min}`);
  if (spec.max !== undefined) parts.push(`<= ${spec.max}`);
  if (spec.maxLength !== undefined) parts.push(`of length <= ${spec.maxLength}`);
  return parts.join(' ');
}

function lengthOf(value: unknown): number | null {
  if (typeof value === 'string' || Array.isArray(value)) return value.length;
  if (isPlainObject(value)) return Object.keys(value).length;
  return null;
}

function checkField(name: string, value: unknown, spec: ParamSpec): void {
  if (value === undefined) {
    if (spec.optional) return;
    throw invalidParams(name, describe(spec));
  }

  if (!matchesType(value, spec.type)) throw invalidParams(name, describe(spec));

  if (typeof value === 'number') {
    if (spec.min !== undefined && value < spec.min) throw invalidParams(name, describe(spec));
    if (spec.max !== undefined && value > spec.max) throw invalidParams(name, describe(spec));
  }

  const length = lengthOf(value);
  if (length === null) return;
  if (spec.nonEmpty && length === 0) throw invalidParams(name, describe(spec));
  if (spec.maxLength !== undefined && length > spec.maxLength) {
    throw invalidParams(name, describe(spec));
  }
}

/**
 * Checks `params` against `schema`; throws TetherError TETHER_INVALID_PARAMS (-32602) naming
 * the first bad field in schema order. `params` itself must already be an object.
 */
export function validateParams(params: Record<string, unknown>, schema: ParamsSchema): void {
  for (const [name, spec] of Object.entries(schema)) {
    // Own properties only: `{"__proto__": …}` or inherited names must not satisfy a spec.
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    checkField(name, value, spec);
  }
}
