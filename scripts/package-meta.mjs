#!/usr/bin/env node
// The npm metadata every published package carries (repository, homepage, bugs, engines) has one
// source: the root package.json's `kindlingPublish` block, as has the range of every peer
// dependency on another Kindling package (`peerRange`). That range is wide on purpose: the
// packages are released together (.changeset/config.json `fixed`) and the umbrella's own
// dependencies pick the matching set, so the peer only has to make npm install one copy; a caret
// range would make changesets turn every 0.x minor release into 1.0.0 (a peer dependency leaving
// its range bumps the dependent's major). `node scripts/package-meta.mjs` writes
// it into every non-private package under packages/ (with the package's own `directory`);
// `--check` only reports packages that differ or lack keywords, a prepack script or the
// tsbuildinfo exclusion, and exits 1 (the release test runs it). `--license DIR` copies the
// root LICENSE into DIR, and scripts/native-build.mjs into DIR/scripts when DIR has a native
// build script (each package's prepack: the root files stay the only copies in git).
import { copyFileSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

if (args[0] === '--license') {
  const dir = args[1] ?? '.';
  copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  // A package with a native build script also gets the shared build helper it imports.
  if (existsSync(join(dir, 'scripts', 'build-native.mjs'))) copyFileSync(join(root, 'scripts', 'native-build.mjs'), join(dir, 'scripts', 'native-build.mjs'));
  process.exit(0);
}

const check = args[0] === '--check';
const meta = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).kindlingPublish;
const problems = [];
for (const dir of readdirSync(join(root, 'packages'))) {
  const file = join(root, 'packages', dir, 'package.json');
  if (!existsSync(file)) continue;
  const text = readFileSync(file, 'utf8');
  const pkg = JSON.parse(text);
  if (pkg.private) continue;
  const want = {
    repository: { ...meta.repository, directory: `packages/${dir}` },
    homepage: `${meta.homepage}/tree/main/packages/${dir}#readme`,
    bugs: meta.bugs,
    engines: meta.engines,
  };
  for (const name of Object.keys(pkg.peerDependencies ?? {})) {
    if (name === 'kindling' || name.startsWith('@kindling/')) want.peerDependencies = { ...(want.peerDependencies ?? pkg.peerDependencies), [name]: meta.peerRange };
  }
  for (const [k, v] of Object.entries(want)) {
    if (JSON.stringify(pkg[k]) === JSON.stringify(v)) continue;
    if (check) problems.push(`${pkg.name}: ${k} is ${JSON.stringify(pkg[k])}, expected ${JSON.stringify(v)}`);
    pkg[k] = v;
  }
  if (!Array.isArray(pkg.keywords) || pkg.keywords.length === 0) problems.push(`${pkg.name}: no keywords`);
  if (!pkg.scripts?.prepack) problems.push(`${pkg.name}: no prepack script (dist must be rebuilt before packing)`);
  if (pkg.files?.includes('dist') && !pkg.files.includes('!dist/.tsbuildinfo')) {
    problems.push(`${pkg.name}: files has dist but not "!dist/.tsbuildinfo"`);
  }
  const out = JSON.stringify(pkg, null, 2) + '\n';
  if (!check && out !== text) writeFileSync(file, out);
}
for (const p of problems) console.error(`package-meta: ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
