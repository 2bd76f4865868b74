#!/usr/bin/env node
/** pnpm train --model lenet|lenet-bn|alexnet|vgg11|nin [...]: d2l's training on the real Fashion-MNIST. */
import '@kindling/backend-cpu';
import { USAGE, UsageError, parseOptions } from './options.js';
import { train } from './train.js';
import { isLaunchedRank, launchRanks, trainDistributed } from './distributed.js';

// A reader that goes away (`pnpm train … | head -1`) makes writes fail with EPIPE. Stop as a
// program killed by SIGPIPE would (exit status 128 + 13), without a stack trace; a checkpoint
// write cut short leaves only a temporary file, which the next run removes.
const EXIT_SIGPIPE = 141;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT_SIGPIPE);
    throw e;
  });
}

async function main(): Promise<number> {
  let o;
  try {
    const { code, rest } = launchRanks(process.argv.slice(2));
    if (code !== null) return code;
    o = parseOptions(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`train: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (o === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    // Backends other than cpu register on import; load the one asked for.
    const kind = o.backend.split(':')[0]!;
    if (kind !== 'cpu') {
      await import(`@kindling/backend-${kind}`).catch((e: Error) => {
        throw new Error(`--backend ${o.backend}: the package @kindling/backend-${kind} could not be loaded (${e.message.split('\n')[0]})`);
      });
    }
    await (isLaunchedRank() ? trainDistributed(o) : train(o));
    return 0;
  } catch (e) {
    process.stderr.write(`train: ${(e as Error).message}\n`);
    return 1;
  }
}

process.exit(await main());
