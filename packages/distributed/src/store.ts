/**
 * The rendezvous key-value store, PyTorch c10d's TCPStore way: rank 0 serves it on
 * MASTER_ADDR:MASTER_PORT from its own event loop, every rank (rank 0 included) is a client.
 * Gloo's full-mesh connection setup goes through it (each rank publishes its listening addresses
 * and waits for the others'), and so do initProcessGroup's checks (world size, duplicate ranks).
 *
 * Wire format: one JSON object per line; values travel as base64. `wait` is answered by the
 * server when every key exists, or with an error when its timeout passes.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { DistributedError } from './errors.js';

interface Request {
  id: number;
  op: 'set' | 'get' | 'wait' | 'add';
  keys: string[];
  value?: string;
  timeoutMs?: number;
}
interface Response {
  id: number;
  error?: string;
  value?: string;
}

/** Splits a socket's data into lines and hands each parsed JSON object on. */
function onLines(sock: Socket, fn: (msg: unknown) => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line) fn(JSON.parse(line));
    }
  });
}

/** The server half, on rank 0. */
export class TCPStoreServer {
  private readonly data = new Map<string, Buffer>();
  private waiters: { keys: string[]; done: () => void }[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  /** Listens on host:port; a port in use is reported with the option to change. */
  static listen(host: string, port: number): Promise<TCPStoreServer> {
    const server = createServer();
    const store = new TCPStoreServer(server);
    // Unreferenced: the store must not keep rank 0 alive on its own (a script that returns
    // without destroyProcessGroup still exits); Gloo's pending work keeps it alive while it runs.
    server.on('connection', (s) => {
      s.unref();
      store.serve(s);
    });
    server.unref();
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'EADDRINUSE' ? 'is in use (EADDRINUSE): pick another MASTER_PORT / --master-port' : `cannot be listened on (${e.code ?? e.message})`;
        reject(new DistributedError('initProcessGroup', `the rendezvous store's port ${host}:${port} ${why}`));
      });
      server.listen(port, host, () => resolve(store));
    });
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private serve(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    onLines(sock, (m) => this.handle(sock, m as Request));
  }

  private handle(sock: Socket, req: Request): void {
    const reply = (r: Omit<Response, 'id'>) => {
      if (!sock.destroyed) sock.write(`${JSON.stringify({ id: req.id, ...r })}\n`);
    };
    const key = req.keys[0]!;
    switch (req.op) {
      case 'set':
        this.data.set(key, Buffer.from(req.value ?? '', 'base64'));
        this.wake();
        return reply({});
      case 'add': {
        // A counter, as TCPStore's add(): the value is a decimal string.
        const n = Number(this.data.get(key)?.toString() ?? '0') + Number(req.value ?? '0');
        this.data.set(key, Buffer.from(String(n)));
        this.wake();
        return reply({ value: Buffer.from(String(n)).toString('base64') });
      }
      case 'get': {
        const v = this.data.get(key);
        return v ? reply({ value: v.toString('base64') }) : reply({ error: `key '${key}' is not set` });
      }
      case 'wait': {
        if (req.keys.every((k) => this.data.has(k))) return reply({});
        const w = {
          keys: req.keys,
          done: () => {
            clearTimeout(timer);
            reply({});
          },
        };
        const timer = setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          const missing = req.keys.filter((k) => !this.data.has(k));
          reply({ error: `timed out after ${req.timeoutMs} ms waiting for key(s) ${missing.join(', ')}` });
        }, req.timeoutMs ?? 30_000);
        this.waiters.push(w);
        return;
      }
    }
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.keys.every((k) => this.data.has(k)));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.done();
  }
}

/** The client half, one per rank. */
export class TCPStore {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: Buffer) => void; reject: (e: Error) => void }>();
  private closedWith: Error | null = null;

  private constructor(
    private readonly sock: Socket,
    readonly timeoutMs: number,
  ) {
    onLines(sock, (m) => {
      const r = m as Response;
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) sock.unref();
      if (r.error) p.reject(new DistributedError('store', r.error));
      else p.resolve(Buffer.from(r.value ?? '', 'base64'));
    });
    const fail = (why: string) => {
      this.closedWith ??= new DistributedError('store', `the connection to the rendezvous store was lost (${why}): did rank 0 exit?`);
      for (const p of this.pending.values()) p.reject(this.closedWith);
      this.pending.clear();
    };
    sock.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    sock.on('close', () => fail('closed'));
  }

  /** Connects to host:port, retrying (rank 0 may not be listening yet) until `timeoutMs`. */
  static async connect(host: string, port: number, timeoutMs: number): Promise<TCPStore> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host, port });
          s.once('connect', () => {
            s.removeListener('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        sock.setNoDelay(true);
        sock.unref();
        return new TCPStore(sock, timeoutMs);
      } catch (e) {
        last = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      }
      if (Date.now() >= deadline) {
        throw new DistributedError('initProcessGroup', `could not reach the rendezvous store at ${host}:${port} within ${timeoutMs} ms (${last}): is rank 0 running with the same MASTER_ADDR/MASTER_PORT?`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private request(op: Request['op'], keys: string[], value?: Buffer): Promise<Buffer> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    // Referenced only while an answer is awaited: an idle client does not keep the process alive.
    this.sock.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const req: Request = { id, op, keys, timeoutMs: this.timeoutMs, ...(value ? { value: value.toString('base64') } : {}) };
      this.sock.write(`${JSON.stringify(req)}\n`);
    });
  }

  async set(key: string, value: Buffer | string): Promise<void> {
    await this.request('set', [key], Buffer.from(value));
  }
  get(key: string): Promise<Buffer> {
    return this.request('get', [key]);
  }
  async wait(keys: string[]): Promise<void> {
    await this.request('wait', keys);
  }
  /** Adds `n` to the counter at `key` and returns the new value. */
  async add(key: string, n: number): Promise<number> {
    return Number((await this.request('add', [key], Buffer.from(String(n)))).toString());
  }

  close(): void {
    this.closedWith ??= new DistributedError('store', 'the store client is closed');
    this.sock.destroy();
  }

  /**
   * The callback the addon's StoreBridge calls from Gloo's rendezvous (op, keys, value, timeout,
   * done(err, value)).
   */
  bridge(): (op: string, keys: string[], value: Buffer, timeoutMs: number, done: (err: string | null, value?: Buffer) => void) => void {
    return (op, gkeys, value, _timeoutMs, done) => {
      const keys = gkeys.map((k) => `gloo/${k}`);
      // Gloo's stores block in get() until the key exists (FileStore, RedisStore do): wait, then get.
      const run =
        op === 'set' ? this.set(keys[0]!, value).then(() => undefined) : op === 'get' ? this.wait(keys).then(() => this.get(keys[0]!)) : this.wait(keys).then(() => undefined);
      run.then(
        (v) => done(null, v),
        (e: Error) => done(e.message),
      );
    };
  }
}
