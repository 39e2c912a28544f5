import path from 'node:path';

/** The broken fixture modules, each with module/, test/ and expect.json. */
export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/modules');
