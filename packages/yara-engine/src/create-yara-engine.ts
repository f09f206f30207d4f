import { AppError } from '@malpipe/core';
import { createLibyaraEngine, isLibyaraAvailable } from './libyara-engine.js';
import { createYaraXEngine, loadYaraXBinding } from './yara-x-engine.js';
import type { YaraEngine } from './yara-engine.js';

export type YaraEnginePreference = 'auto' | 'libyara' | 'yara-x';

export const YARA_ENGINE_PREFERENCES = [
  'auto',
  'libyara',
  'yara-x',
] as const satisfies readonly YaraEnginePreference[];

/**
 * Picks an engine. `auto` prefers libyara when our addon is built (it shares one compiled ruleset across
 * threads, saves compiled rules and enforces timeouts; see bench/yara-engines.ts for speed), else YARA-X.
 * An explicit choice that cannot load fails with YARA_ENGINE_UNAVAILABLE.
 */
export async function createYaraEngine(preference: YaraEnginePreference = 'auto'): Promise<YaraEngine> {
  if (preference === 'libyara' || (preference === 'auto' && isLibyaraAvailable())) {
    if (!isLibyaraAvailable()) {
      throw new AppError(
        'YARA_ENGINE_UNAVAILABLE',
        'libyara was requested but @malpipe/yara-native is not built',
      );
    }
    return createLibyaraEngine();
  }
  await loadYaraXBinding();
  return createYaraXEngine();
}
