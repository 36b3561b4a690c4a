import type { ValidateFunction } from 'ajv/dist/2020.js';

/**
 * Validators compiled ahead of time, by validator-set name (json-schema.ts). Empty in the sources:
 * scripts/build.mjs replaces this module in the bundle with Ajv standalone code for every set of
 * validator-sets.ts.
 */
export const PRECOMPILED: Readonly<Record<string, Readonly<Record<string, ValidateFunction>> | undefined>> = {};
