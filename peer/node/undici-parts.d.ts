// The parts of undici a peer loads on their own (http-dispatcher.ts): undici ships no types
// for its lib/ files, which are the classes its index exports.
declare module 'undici/lib/dispatcher/env-http-proxy-agent.js' {
  import { EnvHttpProxyAgent } from 'undici';
  export default EnvHttpProxyAgent;
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  import { Dispatcher } from 'undici';
  export default Dispatcher;
}
declare module 'undici/lib/api/index.js' {
  const api: Record<string, unknown>; // request, stream, pipeline, connect, upgrade
  export default api;
}
