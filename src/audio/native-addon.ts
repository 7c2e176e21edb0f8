/**
 * parley's own native addons (binding.gyp builds each into build/Release/NAME.node at install),
 * each loaded once. A missing one is a reason to give, not an error at import: the build skips
 * an addon whose library's headers are missing, and what needs it says so when asked.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const cache = new Map<string, { binding: unknown } | { reason: string }>();

/** The addon `name`, or why there is none (the first line of the loader's error, or "no FILE"). */
export function nativeAddon<T>(name: string): { binding: T } | { reason: string } {
  let loaded = cache.get(name);
  if (!loaded) {
    // Seen from src/audio and dist/audio (one level below the package root), or dist-bench/src/audio (two).
    const paths = [join(__dirname, '..', '..', 'build', 'Release', `${name}.node`), join(__dirname, '..', '..', '..', 'build', 'Release', `${name}.node`)];
    const found = paths.find((p) => existsSync(p));
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = found ? { binding: require(found) as unknown } : { reason: `no ${paths[0]}` };
    } catch (err) {
      loaded = { reason: (err as Error).message.split('\n')[0] };
    }
    cache.set(name, loaded);
  }
  return loaded as { binding: T } | { reason: string };
}
