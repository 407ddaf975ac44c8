import { InitialSchema1733300000000 } from './1733300000000-initial-schema.js';

export { InitialSchema1733300000000 };

/** Every committed migration, oldest first. Classes, not globs, so compiled ESM finds them. */
export const MIGRATIONS = [InitialSchema1733300000000];
