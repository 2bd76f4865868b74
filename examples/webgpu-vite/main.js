// Trains a two-layer network on WebGPU in the browser: y = sin(x) on 256 points, Adam, 200 steps.
// `kindling` registers cpu; importing @kindling/backend-webgpu registers webgpu (or import
// 'kindling/webgpu', which does both). In the browser WebGPU comes from navigator.gpu, so the
// `webgpu` npm package (Dawn, for Node) is not installed.
import * as kd from 'kindling';
import '@kindling/backend-webgpu';

const log = document.getElementById('log');
const say = (line) => {
  log.textContent = log.textContent === 'loading…' ? line : `${log.textContent}\n${line}`;
};

async function main() {
  const devices = kd.availableDevices();
  say(`devices: ${devices.map((d) => `${d.kind}${d.available ? '' : ` (${d.reason})`}`).join(', ')}`);
  const backend = await kd.initDevice('webgpu');
  say(`webgpu: ${backend.info().implementation}`);
  kd.setDefaultDevice('webgpu');
  kd.manualSeed(0);

  const x = kd.linspace(-3, 3, 256).reshape([256, 1]);
  const y = x.sin();
  const net = new kd.nn.Sequential(new kd.nn.Linear(1, 32), new kd.nn.Tanh(), new kd.nn.Linear(32, 1));
  const opt = new kd.optim.Adam(net.parameters(), { lr: 0.02 });
  let first = 0;
  let last = 0;
  for (let step = 0; step < 200; step++) {
    const loss = kd.tidy(() => {
      opt.zeroGrad();
      const l = kd.mseLoss(net.forward(x), y);
      l.backward();
      opt.step();
      return l.detach();
    });
    if (step === 0 || step === 199) {
      const v = await loss.item();
      if (step === 0) first = v;
      else last = v;
      say(`step ${step + 1}: loss ${v.toFixed(4)}`);
    }
    loss.dispose();
  }
  const result = { devices: kd.availableDevices(), first, last };
  window.kindlingResult = result;
  say(`done: ${JSON.stringify(result)}`);
}

main().catch((e) => {
  window.kindlingResult = { error: String(e?.message ?? e) };
  say(`error: ${e?.message ?? e}`);
});
