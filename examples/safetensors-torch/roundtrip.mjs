// A LeNet checkpoint from Kindling into PyTorch and back, through safetensors files:
//   1. Kindling saves LeNet's stateDict (plus an input and its output) to kindling.safetensors;
//   2. torch_roundtrip.py loads it into torch's LeNet (strict), checks the output, takes one SGD
//      step and saves torch.safetensors with the output after the step;
//   3. Kindling loads torch.safetensors (strict) and must give torch's output.
// Needs python3 with torch (Debian: apt-get install python3-torch; $PYTHON names another).
//   node roundtrip.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from 'kindling';
import { lenet } from '../lenet-node/lenet.mjs';

const { nn } = kd;

const dir = mkdtempSync(join(tmpdir(), 'kindling-safetensors-'));
try {
  kd.manualSeed(0);
  const net = lenet();
  const x = kd.randn([4, 1, 28, 28]);
  const out = kd.noGrad(() => net.forward(x));
  const mine = join(dir, 'kindling.safetensors');
  const theirs = join(dir, 'torch.safetensors');
  const expected = join(dir, 'expected.json');
  const sd = net.stateDict();
  sd.set('input', x);
  sd.set('output', out);
  await nn.safetensors.save(sd, mine);

  const script = fileURLToPath(new URL('./torch_roundtrip.py', import.meta.url));
  const python = process.env.PYTHON ?? 'python3';
  process.stdout.write(execFileSync(python, [script, mine, theirs, expected], { encoding: 'utf8' }));

  const back = lenet();
  back.loadStateDict(await nn.safetensors.load(theirs)); // strict
  const after = Array.from(await kd.noGrad(() => back.forward(x)).data());
  const want = JSON.parse(readFileSync(expected, 'utf8')).output;
  const diff = Math.max(...after.map((v, i) => Math.abs(v - want[i])));
  if (!(diff <= 1e-5)) throw new Error(`Kindling's output after loading torch's weights differs by ${diff}`);
  console.log(`safetensors-torch: round trip ok, Kindling matches torch's stepped LeNet within ${diff.toExponential(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
