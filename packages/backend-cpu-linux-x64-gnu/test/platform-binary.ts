/**
 * The binary of a platform package folder, or why it is absent (its build's native-status.json),
 * for the binary tests of both platform packages (the CUDA one imports this file).
 */
import { existsSync, readFileSync } from 'node:fs';

export function platformBinary(pkgDirUrl: URL, file: string): { binary: string; skip: string } {
  const pkgDir = pkgDirUrl.pathname;
  const binary = `${pkgDir}${file}`;
  if (existsSync(binary)) return { binary, skip: '' };
  let reason = 'the build never ran (pnpm build)';
  try {
    reason = (JSON.parse(readFileSync(`${pkgDir}build/native-status.json`, 'utf8')) as { reason?: string }).reason ?? 'no reason recorded';
  } catch {
    // no status file
  }
  return { binary, skip: `${binary} is not built: ${reason}` };
}
