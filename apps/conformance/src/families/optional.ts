/**
 * Loads what is installed beyond core: other backends (each registers itself on import) and the
 * families that need @kindling/nn and @kindling/optim. What is missing is reported, not hidden.
 */
import { markFamilyUnavailable } from '../runner.js';

async function tryImport(name: string): Promise<unknown | string> {
  try {
    return await import(name);
  } catch (e) {
    return `${name} is not available (${(e as Error).message.split('\n')[0]})`;
  }
}

export async function loadBackendsAndFamilies(): Promise<void> {
  await tryImport('@kindling/backend-webgpu');
  await tryImport('@kindling/backend-cuda');
  const families = await tryImport('./nn-families.js');
  if (typeof families === 'string') {
    for (const f of ['modules', 'optimizers', 'end_to_end']) markFamilyUnavailable(f, families);
  }
}
