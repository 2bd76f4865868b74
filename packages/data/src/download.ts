/**
 * Verified downloads (Node): fetch a file from the first mirror that serves it with the expected
 * MD5, writing to a temporary file in the target folder and renaming it into place only after the
 * checksum matched, so a half-downloaded or corrupt file never carries the final name.
 */
import { DownloadError } from './errors.js';

/** A file to fetch and its expected MD5 (lowercase hex). */
export interface RemoteFile {
  readonly name: string;
  readonly md5: string;
}

export interface DownloadOptions {
  /** Base URLs tried in order; the file's URL is base + name. */
  readonly mirrors: readonly string[];
  /** Target folder (created if missing). */
  readonly dir: string;
  /** Per-file time limit in milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Progress messages (default: none). */
  readonly log?: (message: string) => void;
}

/** MD5 of a file, lowercase hex. */
export async function md5File(path: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const { createReadStream } = await import('node:fs');
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function joinUrl(base: string, name: string): string {
  return base.endsWith('/') ? base + name : `${base}/${name}`;
}

/**
 * Downloads `file` into `opts.dir` and returns its path. Tries each mirror in turn; a mirror that
 * fails (network error, HTTP error, checksum mismatch) is reported in the final error if all fail.
 */
export async function downloadFile(file: RemoteFile, opts: DownloadOptions): Promise<string> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { createHash, randomBytes } = await import('node:crypto');
  await fs.mkdir(opts.dir, { recursive: true });
  const final = join(opts.dir, file.name);
  const expected = file.md5.toLowerCase();
  const failures: string[] = [];
  if (opts.mirrors.length === 0) throw new DownloadError(`${file.name}: no mirror to download it from`);

  for (const mirror of opts.mirrors) {
    const url = joinUrl(mirror, file.name);
    const temp = join(opts.dir, `.${file.name}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
    try {
      opts.log?.(`Downloading ${url} to ${final}`);
      const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 600_000) });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
      const hash = createHash('md5');
      const handle = await fs.open(temp, 'w');
      let bytes = 0;
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          bytes += chunk.length;
          await handle.write(chunk);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const got = hash.digest('hex');
      if (got !== expected) {
        throw new Error(`checksum mismatch: expected md5 ${expected}, got ${got} (${bytes} bytes)`);
      }
      await fs.rename(temp, final);
      return final;
    } catch (e) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      const msg = e instanceof Error ? (e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : String(e);
      failures.push(`  ${url}: ${msg}`);
    }
  }
  throw new DownloadError(`could not download ${file.name}:\n${failures.join('\n')}`);
}

/**
 * Makes sure every file is present in `opts.dir` with its MD5, downloading the missing or
 * mismatching ones. Returns the paths in the order given.
 */
export async function ensureFiles(files: readonly RemoteFile[], opts: DownloadOptions): Promise<string[]> {
  const { join } = await import('node:path');
  const { existsSync } = await import('node:fs');
  const paths: string[] = [];
  for (const f of files) {
    const path = join(opts.dir, f.name);
    if (existsSync(path) && (await md5File(path)) === f.md5.toLowerCase()) {
      paths.push(path);
      continue;
    }
    paths.push(await downloadFile(f, opts));
  }
  return paths;
}
