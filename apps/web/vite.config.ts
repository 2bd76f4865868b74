import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defineConfig, type Connect, type Plugin } from 'vite';
import { FashionMNIST } from '@kindling/data';

/** The files the page asks for, without their .gz (the server answers with raw or gzip bytes). */
const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
const PREFIX = '/data/fashion-mnist/';

/** A file as raw or .gz in dir (raw first, as @kindling/data prefers). */
function findFile(dir: string, base: string): string | undefined {
  for (const name of [base, `${base}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return undefined;
}

/**
 * Serves Fashion-MNIST to the page at /data/fashion-mnist/<name> from the first folder
 * @kindling/data searches ($KINDLING_DATA_DIR, ~/.cache/kindling, /usr/share/datasets/...) that
 * holds all four files, in `vite` (dev) and `vite preview`. The bytes go out as stored (raw IDX or
 * gzip, application/octet-stream, no Content-Encoding): the page detects gzip by its magic bytes
 * and decompresses it with DecompressionStream. A missing dataset answers 404 with the folders
 * searched, which the page shows.
 */
function fashionMnist(): Plugin {
  let located: Promise<{ dir?: string; searched: string[] }> | undefined;
  const locate = () =>
    (located ??= FashionMNIST.searchPaths().then((dirs) => ({
      dir: dirs.find((d) => FILES.every((f) => findFile(d, f))),
      searched: dirs,
    })));

  const middleware: Connect.NextHandleFunction = (req: IncomingMessage, res: ServerResponse, next: Connect.NextFunction) => {
    const url = (req.url ?? '').split('?')[0]!;
    if (!url.startsWith(PREFIX)) return next();
    const name = url.slice(PREFIX.length).replace(/\.gz$/, '');
    void locate().then(
      ({ dir, searched }) => {
        const file = dir && FILES.includes(name) ? findFile(dir, name) : undefined;
        if (!file) {
          res.statusCode = 404;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.end(
            FILES.includes(name)
              ? `Fashion-MNIST not found; searched: ${searched.join(', ')} (install Debian's dataset-fashion-mnist or set KINDLING_DATA_DIR)`
              : `unknown file ${name}; expected one of ${FILES.join(', ')}`,
          );
          return;
        }
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', String(statSync(file).size));
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('X-Kindling-Source', file);
        createReadStream(file).on('error', (e) => res.destroy(e)).pipe(res);
      },
      (e: unknown) => next(e),
    );
  };

  return {
    name: 'kindling-fashion-mnist',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [fashionMnist()],
  // @kindling/* come from their built dist/ (workspace links), like the Node apps use them.
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    rolldownOptions: {
      // @kindling/data and @kindling/nn import node:fs, node:path, node:worker_threads ... lazily,
      // only on their Node-only paths (files, downloads, worker threads, checkpoints); in the
      // browser those imports are never reached, so Vite's "externalized for browser
      // compatibility" notes about them are expected.
      onwarn(warning, warn) {
        if (/externalized for browser compatibility/.test(warning.message) && /packages\/(data|nn)\/|@kindling\//.test(warning.message)) return;
        warn(warning);
      },
    },
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
