/**
 * The interactive client's controller: feeds key presses and phone events into the state
 * machine, draws each new state, and carries out the effects it asks for.
 */
import { EXIT, type ExitCode } from '../exit-codes';
import { ActiveCall, Phone, type IncomingCall, type OutgoingCall, type PhoneOptions } from '../phone';
import { callView, liveView } from './call-view';
import { render, type ScreenContext } from './screens';
import { initial, transition, type Effect, type Step, type UiConfig, type UiEvent, type UiState } from './state';
import { Terminal } from './terminal';

export interface InteractiveOptions {
  name?: string;
  phone: PhoneOptions;
  hangupKey: string;
}

const TICK_MS = 500;
/** How long leaving may take (hanging up, closing the connection) before we go anyway. */
const CLEANUP_MS = 3000;

export function runInteractive(opts: InteractiveOptions, terminal = new Terminal(process.stdin, process.stdout)): Promise<ExitCode> {
  return new App(opts, terminal).run();
}

class App {
  private state: UiState = { kind: 'quitting' };
  private readonly cfg: UiConfig;
  private readonly ctx: ScreenContext;
  private phone?: Phone;
  private outgoing?: OutgoingCall;
  private active?: ActiveCall;
  private hangingUp = false;
  private readonly incoming = new Map<string, IncomingCall>();
  private ticker?: NodeJS.Timeout;
  private queue = Promise.resolve();
  private finish: (code: ExitCode) => void = () => undefined;

  constructor(
    private readonly opts: InteractiveOptions,
    private readonly terminal: Terminal,
  ) {
    this.cfg = { hangupKey: opts.hangupKey };
    this.ctx = { server: `${opts.phone.server.host}:${opts.phone.server.port}`, hangupKey: opts.hangupKey };
  }

  run(): Promise<ExitCode> {
    return new Promise((resolve) => {
      this.finish = resolve;
      const shutdown = () => this.dispatch({ type: 'shutdown' });
      for (const sig of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) process.on(sig, shutdown);
      this.terminal.start((key) => this.dispatch({ type: 'key', key }), shutdown);
      this.apply(initial(this.opts.name), false);
    });
  }

  private dispatch(e: UiEvent): void {
    this.apply(transition(this.state, e, this.cfg), e.type === 'tick');
  }

  private apply(step: Step, live: boolean): void {
    this.state = step.state;
    this.terminal.draw(render(this.state, this.ctx), live);
    for (const effect of step.effects) {
      // One at a time, in order: "hang up, then exit" must not race.
      this.queue = this.queue.then(() => this.perform(effect)).catch(() => undefined);
    }
  }

  private async perform(effect: Effect): Promise<void> {
    switch (effect.do) {
      case 'connect':
        return this.connect();
      case 'register':
        return this.request(
          () => this.phone!.register(effect.name),
          () => ({ type: 'registered', name: this.phone?.name ?? effect.name }),
          (code, message) => ({ type: 'register-failed', name: effect.name, code, message }),
        );
      case 'list':
        return this.request(
          () => this.phone!.list(),
          (users) => ({ type: 'users', users }),
          (code, message) => ({ type: 'request-failed', code, message }),
        );
      case 'lookup':
        return this.request(
          () => this.phone!.lookup(effect.target),
          (user) => ({ type: 'found', user }),
          (code, message) => ({ type: 'request-failed', code, message }),
        );
      case 'call':
        return this.call(effect.to);
      case 'cancel':
        await this.outgoing?.cancel();
        return;
      case 'accept':
        return this.accept(effect.id);
      case 'decline': {
        const call = this.incoming.get(effect.id);
        this.incoming.delete(effect.id);
        await call?.decline();
        return;
      }
      case 'hangup':
        if (!this.active) return this.dispatch({ type: 'call-ended', reason: 'hangup', byMe: true, now: Date.now() });
        this.hangingUp = true;
        await this.active.hangup();
        return;
      case 'mute':
        this.active?.setMuted(effect.muted);
        return;
      case 'exit':
        return this.exit(effect.code);
    }
  }

  private async connect(): Promise<void> {
    this.dropPhone();
    try {
      const phone = await Phone.connect(this.opts.phone);
      this.phone = phone;
      phone.on('incoming', (call: IncomingCall) => this.ring(call));
      phone.on('call-failed', ({ message }) => this.dispatch({ type: 'notice', text: `${message}.` }));
      phone.on('disconnected', ({ reason }: { reason: string }) => {
        if (this.phone !== phone) return;
        this.dropPhone();
        this.dispatch({ type: 'disconnected', reason });
      });
      this.dispatch({ type: 'connected' });
    } catch (err) {
      this.dispatch({ type: 'connect-failed', message: (err as Error).message });
    }
  }

  /** Runs one request to the server; a lost connection is reported by 'disconnected' instead. */
  private async request<T>(
    send: () => Promise<T>,
    ok: (value: T) => UiEvent,
    failed: (code: string, message: string) => UiEvent,
  ): Promise<void> {
    const phone = this.phone;
    if (!phone) return;
    try {
      const value = await send();
      if (this.phone === phone) this.dispatch(ok(value));
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? 'failed');
      if (this.phone === phone && code !== 'disconnected') this.dispatch(failed(code, (err as Error).message));
    }
  }

  private ring(call: IncomingCall): void {
    this.incoming.set(call.id, call);
    const gone = (info?: { reason?: string }) => {
      if (!this.incoming.delete(call.id)) return;
      this.dispatch({ type: 'incoming-gone', id: call.id, reason: info?.reason ?? 'cancelled' });
    };
    call.once('cancelled', gone);
    call.once('ended', gone);
    this.dispatch({ type: 'incoming', from: call.from, id: call.id });
  }

  private async call(to: string): Promise<void> {
    const phone = this.phone;
    if (!phone) return;
    const outgoing = phone.call(to);
    this.outgoing = outgoing;
    try {
      const call = await outgoing.result;
      this.connected(call);
    } catch (err) {
      const e = err as { reason?: string; message: string };
      this.dispatch({ type: 'call-failed', reason: e.reason ?? 'failed', message: e.message });
    } finally {
      if (this.outgoing === outgoing) this.outgoing = undefined;
    }
  }

  private async accept(id: string): Promise<void> {
    const incoming = this.incoming.get(id);
    this.incoming.delete(id);
    if (!incoming) return this.dispatch({ type: 'call-failed', reason: 'cancelled', message: 'the caller gave up' });
    try {
      this.connected(await incoming.accept());
    } catch (err) {
      const e = err as { reason?: string; message: string };
      this.dispatch({ type: 'call-failed', reason: e.reason ?? 'failed', message: e.message });
    }
  }

  private connected(call: ActiveCall): void {
    this.active = call;
    this.hangingUp = false;
    call.once('ended', ({ reason }: { reason: string }) => {
      if (this.active !== call) return;
      this.active = undefined;
      clearInterval(this.ticker);
      this.dispatch({ type: 'call-ended', reason, byMe: this.hangingUp, now: Date.now() });
    });
    this.dispatch({ type: 'call-connected', call: callView(call) });
    const tick = () => this.dispatch({ type: 'tick', live: liveView(call) });
    tick();
    this.ticker = setInterval(tick, TICK_MS);
  }

  private dropPhone(): void {
    const phone = this.phone;
    this.phone = undefined;
    this.outgoing = undefined;
    this.active = undefined;
    this.incoming.clear();
    clearInterval(this.ticker);
    if (phone) {
      phone.removeAllListeners();
      phone.close().catch(() => undefined);
    }
  }

  private async exit(code: ExitCode): Promise<void> {
    clearInterval(this.ticker);
    const cleanup = (async () => {
      await this.active?.hangup().catch(() => undefined);
      await this.outgoing?.cancel().catch(() => undefined);
      await this.phone?.close().catch(() => undefined);
    })();
    await Promise.race([cleanup, new Promise((r) => setTimeout(r, CLEANUP_MS).unref())]);
    this.terminal.stop();
    this.finish(code ?? EXIT.ok);
  }
}
