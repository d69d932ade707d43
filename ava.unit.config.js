// `npm run test:unit`: pure modules, the scripted core, the simulator, the codec (see ava.config.js).
import { UNIT, suiteConfig } from './ava.config.js';

export default suiteConfig([UNIT]);
