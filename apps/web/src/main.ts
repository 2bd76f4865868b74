/**
 * The page: checks for WebGPU, initialises Kindling's 'webgpu' device, loads Fashion-MNIST from
 * the dev server, and trains d2l's LeNet(-BN) with live plots and a Start/Stop button.
 *
 * URL parameters (all optional): model=lenet-bn|lenet, batch, lr, seed, every (iterations per
 * plotted point), heldout (held-out test images), data (base URL of the IDX files).
 * window.kindlingDemo.snapshot() reports the state (the Playwright test reads it).
 */
import * as kd from '@kindling/core';
import '@kindling/backend-webgpu';
import { loadFashionMnist, type FashionMnist } from './data.js';
import { PRESETS, type ModelName } from './models.js';
import { drawChart } from './plot.js';
import { Session, type Config, type Point } from './session.js';

export type Phase = 'checking' | 'loading' | 'ready' | 'running' | 'stopping' | 'stopped' | 'no-webgpu' | 'error';

export interface Snapshot {
  phase: Phase;
  message: string;
  adapter: string | null;
  config: Config | null;
  iteration: number;
  epoch: number;
  imagesPerSecond: number | null;
  /** Held-out accuracy before the first step (chance level for an untrained network). */
  initialTestAcc: number | null;
  history: Point[];
}

declare global {
  interface Window {
    kindlingDemo: { snapshot(): Snapshot };
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  message: $<HTMLDivElement>('message'),
  adapter: $<HTMLElement>('adapter'),
  data: $<HTMLElement>('data'),
  start: $<HTMLButtonElement>('start'),
  reset: $<HTMLButtonElement>('reset'),
  model: $<HTMLSelectElement>('model'),
  batch: $<HTMLInputElement>('batch'),
  lr: $<HTMLInputElement>('lr'),
  every: $<HTMLInputElement>('every'),
  note: $<HTMLParagraphElement>('note'),
  iteration: $<HTMLElement>('iteration'),
  epoch: $<HTMLElement>('epoch'),
  ips: $<HTMLElement>('ips'),
  loss: $<HTMLElement>('loss'),
  trainAcc: $<HTMLElement>('train-acc'),
  testAcc: $<HTMLElement>('test-acc'),
  lossChart: $<HTMLCanvasElement>('loss-chart'),
  accChart: $<HTMLCanvasElement>('acc-chart'),
  heldOutN: $<HTMLElement>('heldout-n'),
};

const params = new URLSearchParams(location.search);
const num = (name: string, fallback: number) => {
  const v = Number(params.get(name));
  return params.has(name) && Number.isFinite(v) ? v : fallback;
};
const initialModel: ModelName = params.get('model') === 'lenet' ? 'lenet' : 'lenet-bn';
const seed = num('seed', 0);
const heldOut = Math.max(1, Math.round(num('heldout', 500)));
const dataBase = new URL(params.get('data') ?? 'data/fashion-mnist/', location.href).href;

let phase: Phase = 'checking';
let message = '';
let adapter: string | null = null;
let dataset: FashionMnist | null = null;
let session: Session | null = null;
let liveRate: number | null = null;
let ticks: [number, number][] = [];

function setPhase(p: Phase, msg: string): void {
  phase = p;
  message = msg;
  document.body.dataset.phase = p;
  ui.message.textContent = msg;
  const busy = p === 'running' || p === 'stopping';
  ui.start.disabled = !(p === 'ready' || p === 'running' || p === 'stopped');
  ui.start.textContent = p === 'running' ? 'Stop' : p === 'stopping' ? 'Stopping…' : session ? 'Resume' : 'Start';
  ui.start.classList.toggle('running', p === 'running');
  ui.reset.disabled = !(p === 'stopped' && session);
  for (const el of [ui.model, ui.batch, ui.lr, ui.every]) el.disabled = busy || session !== null || p === 'no-webgpu';
}

function applyPreset(name: ModelName, fromUrl: boolean): void {
  const preset = PRESETS[name];
  ui.model.value = name;
  ui.batch.value = String(fromUrl ? num('batch', preset.batchSize) : preset.batchSize);
  ui.lr.value = String(fromUrl ? num('lr', preset.lr) : preset.lr);
  ui.note.textContent = preset.note;
}

function readConfig(): Config {
  const model = ui.model.value as ModelName;
  const batchSize = Math.max(1, Math.round(Number(ui.batch.value) || PRESETS[model].batchSize));
  const lr = Number(ui.lr.value);
  const every = Math.max(1, Math.round(Number(ui.every.value) || 10));
  return { model, batchSize, lr: Number.isFinite(lr) && lr > 0 ? lr : PRESETS[model].lr, seed, every, heldOut };
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

function render(): void {
  const h = session?.history ?? [];
  const last = h[h.length - 1];
  ui.iteration.textContent = String(session?.iteration ?? 0);
  ui.epoch.textContent = (session?.epoch ?? 0).toFixed(2);
  ui.ips.textContent = liveRate === null ? '—' : liveRate.toFixed(0);
  ui.loss.textContent = last ? last.loss.toFixed(3) : '—';
  ui.trainAcc.textContent = last ? pct(last.trainAcc) : '—';
  ui.testAcc.textContent = last ? pct(last.testAcc) : '—';
  const span = (session?.config.every ?? 10) * 10;
  drawChart(ui.lossChart, {
    title: 'Training loss (cross-entropy)',
    xLabel: 'iteration',
    xMinSpan: span,
    series: [{ label: 'loss', color: '#1864ab', points: h.map((p) => [p.iteration, p.loss]) }],
    yFormat: (v) => String(Number(v.toFixed(2))),
    reference: { y: Math.log(10), label: 'ln 10 (uniform guess)' },
  });
  drawChart(ui.accChart, {
    title: 'Accuracy',
    xLabel: 'iteration',
    xMinSpan: span,
    yMin: 0,
    yMax: 1,
    series: [
      { label: 'train', color: '#2b8a3e', points: h.map((p) => [p.iteration, p.trainAcc]) },
      {
        label: `held-out (${heldOut})`,
        color: '#d9480f',
        points: [...(session?.initialTestAcc != null ? [[0, session.initialTestAcc] as const] : []), ...h.map((p) => [p.iteration, p.testAcc] as const)],
        dashed: true,
      },
    ],
    yFormat: (v) => v.toFixed(1),
    valueFormat: pct,
    reference: { y: 0.1, label: 'chance (10 classes)' },
  });
}

let renderQueued = false;
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function onTick(): void {
  const now = performance.now();
  ticks.push([now, session!.images]);
  if (ticks.length > 11) ticks.shift();
  if (ticks.length >= 3) {
    const [t0, i0] = ticks[0]!;
    const [t1, i1] = ticks[ticks.length - 1]!;
    liveRate = ((i1 - i0) / (t1 - t0)) * 1000;
  }
  scheduleRender();
}

function onPoint(p: Point): void {
  ticks = []; // the evaluation pause is not training time
  liveRate = p.imagesPerSecond;
  console.log(
    `[kindling] iteration ${p.iteration}: loss ${p.loss.toFixed(3)}, train acc ${p.trainAcc.toFixed(3)}, ` +
      `held-out acc ${p.testAcc.toFixed(3)}, ${p.imagesPerSecond.toFixed(0)} img/s`,
  );
  scheduleRender();
}

async function start(): Promise<void> {
  if (!dataset) return;
  session ??= new Session(readConfig(), dataset.train, dataset.test);
  const c = session.config;
  setPhase('running', `Training ${PRESETS[c.model].title}: SGD lr ${c.lr}, batch ${c.batchSize}, seed ${c.seed}`);
  ticks = [];
  try {
    await session.start(onPoint, onTick);
    setPhase('stopped', `Stopped after ${session.iteration} iterations (${session.images.toLocaleString('en-US')} images). Resume continues the run; Reset starts over.`);
  } catch (e) {
    console.error(e);
    setPhase('error', `Training failed: ${(e as Error).message}`);
  }
  render();
}

async function stop(): Promise<void> {
  if (!session) return;
  setPhase('stopping', 'Stopping after the current iteration…');
  await session.stop();
}

ui.start.addEventListener('click', () => void (phase === 'running' ? stop() : start()));
ui.reset.addEventListener('click', () => {
  session?.dispose();
  session = null;
  liveRate = null;
  setPhase('ready', 'Ready: press Start to train.');
  render();
});
ui.model.addEventListener('change', () => applyPreset(ui.model.value as ModelName, false));
window.addEventListener('resize', scheduleRender);
window.addEventListener('unhandledrejection', (e) => {
  if (phase !== 'error') setPhase('error', `Unexpected error: ${String((e.reason as Error)?.message ?? e.reason)}`);
});

window.kindlingDemo = {
  snapshot: () => ({
    phase,
    message,
    adapter,
    config: session?.config ?? null,
    iteration: session?.iteration ?? 0,
    epoch: session?.epoch ?? 0,
    imagesPerSecond: liveRate,
    initialTestAcc: session?.initialTestAcc ?? null,
    history: session ? [...session.history] : [],
  }),
};

async function main(): Promise<void> {
  applyPreset(initialModel, true);
  ui.every.value = String(Math.max(1, Math.round(num('every', 10))));
  ui.heldOutN.textContent = String(heldOut);
  setPhase('checking', 'Checking for WebGPU…');
  render();

  if (!(navigator as { gpu?: unknown }).gpu) {
    setPhase(
      'no-webgpu',
      'WebGPU is not available in this browser (navigator.gpu is missing), so this demo cannot train here.\n' +
        'Use a browser with WebGPU: Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows. WebGPU needs a secure context ' +
        '(https, or http://localhost / 127.0.0.1). On Linux start Chromium with --enable-unsafe-webgpu (without a GPU it then ' +
        'runs on SwiftShader). The same training runs in Node: pnpm train --model lenet-bn-d2l.',
    );
    return;
  }
  try {
    const backend = await kd.initDevice('webgpu');
    kd.setDefaultDevice('webgpu');
    const info = backend.info();
    adapter = info.implementation;
    ui.adapter.textContent = [info.implementation, ...(info.notes ?? [])].join(' · ');
  } catch (e) {
    const full = (e as Error).message;
    console.warn(`initDevice('webgpu') failed: ${full}`);
    // The backend's message ends with install hints for Node too; the first clause is the browser's part.
    const msg = full.split(';')[0]!;
    setPhase(
      'no-webgpu',
      `WebGPU is present (navigator.gpu) but gave no usable adapter or device, so this demo cannot train here.\n${msg}\n` +
        'Chromium without a GPU needs --enable-unsafe-webgpu (it then runs WebGPU on SwiftShader); chrome://gpu shows why an adapter is blocked.',
    );
    return;
  }

  setPhase('loading', 'Loading Fashion-MNIST…');
  try {
    const t0 = performance.now();
    dataset = await loadFashionMnist(dataBase, (loaded, total) => {
      ui.data.textContent = `${dataBase}: ${(loaded / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB`;
    });
    ui.data.textContent =
      `Fashion-MNIST from ${dataBase}: ${dataset.train.length.toLocaleString('en-US')} training and ` +
      `${dataset.test.length.toLocaleString('en-US')} test images (${(dataset.bytes / 1e6).toFixed(1)} MB fetched, ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s)`;
  } catch (e) {
    setPhase('error', `Could not load Fashion-MNIST: ${(e as Error).message}`);
    return;
  }
  setPhase('ready', 'Ready: press Start to train.');
}

void main();
