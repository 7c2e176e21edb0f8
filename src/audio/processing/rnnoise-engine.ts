/**
 * Noise suppression by RNNoise, from the WebAssembly build in @jitsi/rnnoise-wasm. Its
 * emscripten glue is an ES module that expects a browser; the package also ships the bare
 * .wasm, which is instantiated here directly: no glue, no network, and it loads the same under
 * Node and under a test runner. Exports and imports are minified, so they are matched by the
 * function names the module's `name` section keeps.
 */
import { readFileSync } from 'node:fs';
import { ENGINE_SAMPLES, type EngineOptions, type VoiceEngine } from './engine';

const PACKAGE = '@jitsi/rnnoise-wasm';

// The part of the WebAssembly API used here (the project's libs and @types/node lack it).
interface WasmModule {
  readonly wasmModule?: never;
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Module: {
    customSections(m: WasmModule, name: string): ArrayBuffer[];
    imports(m: WasmModule): { module: string; name: string; kind: string }[];
  };
  Instance: new (m: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (...args: never[]) => WasmMemory;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface RnnoiseExports {
  memory: WasmMemory;
  ctors: () => void;
  create: (model: number) => number;
  destroy: (state: number) => void;
  process: (state: number, out: number, input: number) => number;
  malloc: (bytes: number) => number;
  free: (ptr: number) => void;
}

let loaded: Promise<WasmModule | { unavailable: string }> | null = null;

function readLeb(bytes: Uint8Array, at: { i: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at.i++];
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return result;
    shift += 7;
  }
}

/** Function index → name, from the `name` custom section's function-names subsection. */
function functionNames(module: WasmModule): Map<number, string> {
  const names = new Map<number, string>();
  const [section] = Wasm.Module.customSections(module, 'name');
  if (!section) return names;
  const bytes = new Uint8Array(section);
  const at = { i: 0 };
  while (at.i < bytes.length) {
    const id = bytes[at.i++];
    const size = readLeb(bytes, at);
    const end = at.i + size;
    if (id === 1) {
      const count = readLeb(bytes, at);
      for (let k = 0; k < count; k++) {
        const index = readLeb(bytes, at);
        const len = readLeb(bytes, at);
        names.set(index, new TextDecoder().decode(bytes.subarray(at.i, at.i + len)));
        at.i += len;
      }
    }
    at.i = end;
  }
  return names;
}

function loadModule(): Promise<WasmModule | { unavailable: string }> {
  loaded ??= (async () => {
    let file: string;
    try {
      file = require.resolve(`${PACKAGE}/dist/rnnoise.wasm`);
    } catch {
      return { unavailable: `rnnoise: the optional package ${PACKAGE} is not installed` };
    }
    try {
      return await Wasm.compile(readFileSync(file));
    } catch (err) {
      return { unavailable: `rnnoise: ${file} does not load (${(err as Error).message})` };
    }
  })();
  return loaded;
}

function instantiate(module: WasmModule): RnnoiseExports | { unavailable: string } {
  const names = functionNames(module);
  let memory: WasmMemory | null = null;
  const library: Record<string, (...args: number[]) => number | void> = {
    emscripten_memcpy_big: (dest, src, n) => {
      new Uint8Array(memory!.buffer).copyWithin(dest, src, src + n);
    },
    emscripten_resize_heap: (requested) => {
      const pages = Math.ceil((requested - memory!.buffer.byteLength) / 65536);
      try {
        memory!.grow(pages);
        return 1;
      } catch {
        return 0;
      }
    },
  };
  // Imported functions come first in the function index space, in import order.
  const imports: Record<string, Record<string, unknown>> = {};
  let index = 0;
  for (const imp of Wasm.Module.imports(module)) {
    if (imp.kind !== 'function') continue;
    const fn = library[names.get(index++) ?? ''];
    if (!fn) return { unavailable: `rnnoise: the module imports ${imp.module}.${imp.name}, which is unknown` };
    (imports[imp.module] ??= {})[imp.name] = fn;
  }
  const instance = new Wasm.Instance(module, imports);
  // An exported function's `name` is its index (JS API spec), which the name section names.
  const byName = new Map<string, unknown>();
  for (const value of Object.values(instance.exports)) {
    if (value instanceof Wasm.Memory) memory = value;
    else if (typeof value === 'function') byName.set(names.get(Number(value.name)) ?? '', value);
  }
  const get = (name: string) => byName.get(name) as ((...args: number[]) => number) | undefined;
  const fns = {
    ctors: get('__wasm_call_ctors'),
    create: get('rnnoise_create'),
    destroy: get('rnnoise_destroy'),
    process: get('rnnoise_process_frame'),
    malloc: get('malloc'),
    free: get('free'),
  };
  const missing = Object.entries(fns).filter(([, f]) => !f).map(([k]) => k);
  if (!memory || missing.length) return { unavailable: `rnnoise: the module lacks ${missing.join(', ') || 'its memory'}` };
  return { memory, ...(fns as Omit<RnnoiseExports, 'memory'>) };
}

/** Whether RNNoise can be loaded here: the reason it cannot, or null. */
export async function rnnoiseAvailable(): Promise<string | null> {
  const module = await loadModule();
  return 'unavailable' in module ? module.unavailable : null;
}

/** An NS-only engine: RNNoise per 10 ms frame, its voice probability as the VAD verdict. */
export async function createRnnoiseEngine(opts: EngineOptions): Promise<VoiceEngine | { unavailable: string }> {
  const refused = [opts.aec && 'echo cancellation', opts.agc && 'gain control'].filter(Boolean);
  if (refused.length) return { unavailable: `rnnoise does noise suppression only, not ${refused.join(' or ')}` };
  const module = await loadModule();
  if ('unavailable' in module) return module;
  // One instance per engine: the wasm heap is small, and engines share nothing.
  const wasm = instantiate(module);
  if ('unavailable' in wasm) return wasm;
  wasm.ctors();
  const bytes = ENGINE_SAMPLES * 4;
  let state = wasm.create(0);
  const input = wasm.malloc(bytes);
  const output = wasm.malloc(bytes);
  if (!state || !input || !output) return { unavailable: 'rnnoise: out of wasm memory' };
  let closed = false;
  let heap = new Float32Array(wasm.memory.buffer);
  const check = (frame: Int16Array) => {
    if (closed) throw new Error('rnnoise: the engine is closed');
    if (!(frame instanceof Int16Array) || frame.length !== ENGINE_SAMPLES) {
      throw new RangeError(`rnnoise: a frame is an Int16Array of ${ENGINE_SAMPLES} samples`);
    }
  };
  return {
    name: 'rnnoise',
    playback(frame) {
      check(frame);
    },
    capture(frame) {
      check(frame);
      // A grown heap is a new buffer: the view follows it.
      if (heap.buffer !== wasm.memory.buffer) heap = new Float32Array(wasm.memory.buffer);
      const inAt = input >> 2;
      for (let i = 0; i < ENGINE_SAMPLES; i++) heap[inAt + i] = frame[i];
      const vad = wasm.process(state, output, input);
      const outAt = output >> 2;
      for (let i = 0; i < ENGINE_SAMPLES; i++) {
        const v = Math.round(heap[outAt + i]);
        frame[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
      return vad > 0.5;
    },
    reset() {
      if (closed) throw new Error('rnnoise: the engine is closed');
      // No echo path to forget; a fresh state also drops the noise estimate, which is the point.
      wasm.destroy(state);
      state = wasm.create(0);
    },
    close() {
      if (closed) return;
      closed = true;
      wasm.destroy(state);
      wasm.free(input);
      wasm.free(output);
    },
  };
}
