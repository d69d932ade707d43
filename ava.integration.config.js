// `npm run test:integration`: real processes and sockets on 127.0.0.1 (see ava.config.js).
// One test file at a time: most start swarms of processes, and two such files at once on a
// small machine would mostly measure the machine.
import { INTEGRATION, suiteConfig } from './ava.config.js';

export default suiteConfig([INTEGRATION], { concurrency: 1 });
