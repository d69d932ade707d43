// One CommonJS file loaded with V8's code cache, as Node 22's module.enableCompileCache()
// would (Node 20 has none, and none at all for ES modules). The dev bundle's `get` starts this
// way (bundle-main.ts): reading back the functions a whole download compiled last time costs
// less than parsing ~1 MB of bundle and compiling them again (issue #12: start-up 0.138 ->
// 0.121 CPU-s alone, 0.159-0.174 -> 0.140-0.154 inside lan-48, in one sitting).
//
// - The cache is made at the exit of a run that had none (or one V8 refused) and ended well,
//   when the caller asks (saveOnCleanExit: a download, so it holds what one compiles, not what
//   --help does); a run without one compiles as usual.
// - V8 checks a cache against its own version and flags but not the source (its length only),
//   so the cache's name carries the file's size and mtime (a rebuilt bundle never reads an
//   old cache), Node's version and this process's node flags. Flags set at run time
//   (peer-process.ts) must be set before the file loads, as bundle-main.ts does.
// - Written to a temporary name and renamed: peers starting together read a whole cache or
//   none. The first to exit writes it; the others find it there and leave it.
// - Kept beside the file, not in a shared temporary directory: a cache is code, and whoever
//   may write there may change the file itself.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

export type CodeCacheUse = 'accepted' | 'rejected' | 'absent';

export interface CodeCacheLoad {
  exports: unknown;
  cache: CodeCacheUse;
  /** Makes the cache when the process exits with 0, if it had none or V8 refused the one there. */
  saveOnCleanExit(): void;
}

/** Runs `file` as a CommonJS module: its exports, what became of its cache, and how to make one. */
export function loadWithCodeCache(file: string): CodeCacheLoad {
  const cacheFile = codeCacheFile(file);
  let cached: Buffer | undefined;
  try {
    cached = readFileSync(cacheFile);
  } catch {
    cached = undefined; // none yet
  }
  // The wrapper keeps the file's line numbers: stack traces point where they should.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`;
  const script = new Script(source, { filename: file, ...(cached !== undefined && { cachedData: cached }) });
  const cache: CodeCacheUse = cached === undefined ? 'absent' : script.cachedDataRejected === true ? 'rejected' : 'accepted';
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  const saveOnCleanExit = (): void => {
    if (cache === 'accepted') return;
    process.once('exit', (code) => {
      if (code === 0 && (cache === 'rejected' || !existsSync(cacheFile))) saveCodeCache(cacheFile, script.createCachedData());
    });
  };
  return { exports: module.exports, cache, saveOnCleanExit };
}

/** Where `file`'s code cache lives, for this build of it, this Node and these node flags. */
export function codeCacheFile(file: string): string {
  const { size, mtimeMs } = statSync(file);
  return `${file}.${fnv1a(`${size}:${mtimeMs}:${process.version}:${process.execArgv.join(' ')}`)}.v8cache`;
}

function saveCodeCache(cacheFile: string, data: Buffer): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, cacheFile);
  } catch {
    // A directory we may not write, or one a rebuild removed: the next run compiles, as this one did.
  }
}

/** FNV-1a, 32 bits, in hex: a short name, not a defence (the key is not secret). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
