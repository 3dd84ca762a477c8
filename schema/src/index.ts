/** The stored schema, defined once (filled in by the store-contract work). */
export const SCHEMA_VERSION = 1;
