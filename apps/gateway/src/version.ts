import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The gateway's own package version, as announced in `gateway.ready`. */
export const VERSION: string = (require('../package.json') as { version: string }).version;
