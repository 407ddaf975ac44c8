import { tetherConfig } from '@tether/eslint-config';

export default tetherConfig;
