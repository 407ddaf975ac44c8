import { ProcessEntity } from './process.entity.js';
import { RunEntity } from './run.entity.js';
import { SessionEntity } from './session.entity.js';
import { TurnEntity } from './turn.entity.js';

export { ProcessEntity, RunEntity, SessionEntity, TurnEntity };

/** Classes, not globs: globs break once the package is compiled and imported from elsewhere. */
export const ENTITIES = [SessionEntity, RunEntity, TurnEntity, ProcessEntity];
