/**
 * The interactive client's controller: feeds key presses and the phone's state changes into the
 * state machine, draws each new state, and carries out the effects it asks for. It keeps no
 * copy of the call: what the phone's state says is what the screen shows.
 */
import { UNENCRYPTED_NOTE } from '../commands/session';
import { EXIT, type ExitCode } from '../exit-codes';
import { listAudioDevices } from '../../audio';
import { Phone, type ActiveCall, type PhoneOptions, type PhoneState, type RoomSession } from '../phone';
import { deviceChoices } from '../views/device-choices';
import { callView, liveView } from '../views/call-view';
import { describeDeviceChange, describeIdentityWarning } from '../views/messages';
import { roomView, type RoomHappening } from '../views/room-view';
import { render, type ScreenContext } from './screens';
import { initial, transition, type Effect, type Step, type UiConfig, type UiEvent, type UiState } from './state';
import { Terminal } from './terminal';
import { hostPort } from '../signaling-client';

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
  private ticker?: NodeJS.Timeout;
  /** Events raised while one is being handled wait their turn, so transitions never nest. */
  private readonly events: UiEvent[] = [];
  private handling = false;
  private finish: (code: ExitCode) => void = () => undefined;
  private exiting = false;
  /** The microphone and speaker chosen on the device screen; unset, the phone's own. */
  private devices: { input?: string; output?: string } = {};

  constructor(
    private readonly opts: InteractiveOptions,
    private readonly terminal: Terminal,
  ) {
    this.cfg = { hangupKey: opts.hangupKey };
    this.ctx = { server: hostPort(opts.phone.server.host, opts.phone.server.port), hangupKey: opts.hangupKey };
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
    this.events.push(e);
    if (this.handling) return;
    this.handling = true;
    try {
      for (let next = this.events.shift(); next; next = this.events.shift()) {
        this.apply(transition(this.state, next, this.cfg), next.type === 'tick' || next.type === 'room-tick');
      }
    } finally {
      this.handling = false;
    }
  }

  private apply(step: Step, live: boolean): void {
    this.state = step.state;
    this.terminal.draw(render(this.state, this.ctx), live);
    for (const effect of step.effects) this.perform(effect);
  }

  /** Starts an effect; none waits for another, so cancel and quit act at once in every state. */
  private perform(effect: Effect): void {
    const phone = this.phone;
    switch (effect.do) {
      case 'connect':
        return void this.connect();
      case 'disconnect':
        return this.dropPhone();
      case 'register':
        return this.request(
          () => phone!.register(effect.name),
          () => ({ type: 'registered', name: phone?.name ?? effect.name, secure: phone?.secure }),
          (code, message) => ({ type: 'register-failed', name: effect.name, code, message }),
        );
      case 'list':
        return this.request(
          () => phone!.list(),
          (users) => ({ type: 'users', users }),
          (code, message) => ({ type: 'request-failed', code, message }),
        );
      case 'lookup':
        return this.request(
          () => phone!.lookup(effect.target),
          (user) => ({ type: 'found', user }),
          (code, message) => ({ type: 'request-failed', code, message }),
        );
      case 'list-devices':
        listAudioDevices().then(
          (list) => this.dispatch({ type: 'devices', choices: deviceChoices(list) }),
          (err: Error) => this.dispatch({ type: 'devices-failed', message: err.message }),
        );
        return;
      case 'use-devices':
        this.devices = { input: effect.input, output: effect.output };
        return;
      case 'call':
        phone?.call(effect.to, this.devices);
        return;
      case 'cancel':
      case 'hangup':
        if (phone && phone.status !== 'idle') void phone.hangup();
        else this.dispatch({ type: 'call-ended', end: { reason: 'hangup', byMe: true }, now: Date.now() });
        return;
      case 'accept': {
        const s = phone?.state;
        if (s?.status === 'ringing' && s.call.id === effect.id) s.call.handle.accept(this.devices).catch(() => undefined);
        else this.dispatch({ type: 'call-failed', end: { reason: 'cancelled', byMe: false, message: 'the caller gave up' } });
        return;
      }
      case 'decline': {
        const s = phone?.state;
        if (s?.status === 'ringing' && s.call.id === effect.id) void s.call.handle.decline();
        return;
      }
      case 'mute': {
        const s = phone?.state;
        if (s?.status === 'active') s.call.setMuted(effect.muted);
        // Before the room's media runs there is nothing to mute: the state machine says it again once there is.
        const media = phone?.room?.media;
        if (media) media.mutedMic = effect.muted;
        return;
      }
      case 'room-enter':
        return this.request(
          () => phone!.enterRoom(effect.how, effect.room, this.devices),
          (room) => this.watchRoom(room),
          (code, message) => ({ type: 'room-failed', code, message }),
        );
      case 'room-start': {
        const room = phone?.room;
        room?.start().catch((err: Error) => this.dispatch({ type: 'room-event', happening: { what: 'start-failed', message: err.message }, room: roomView(room) }));
        return;
      }
      case 'room-leave':
        if (phone?.room) void phone.room.leave();
        else this.dispatch({ type: 'room-ended', reason: 'left' });
        return;
      case 'room-mute-member':
        phone?.room?.media?.muteMember(effect.member, effect.muted);
        return;
      case 'exit':
        return void this.exit(effect.code);
    }
  }

  private async connect(): Promise<void> {
    this.dropPhone();
    try {
      const phone = await Phone.connect(this.opts.phone);
      this.phone = phone;
      phone.on('stateChange', (old, next) => this.onPhoneState(old, next));
      // A caller refused for a changed key: the identity warning just shown says it all.
      phone.on('call-failed', ({ reason, message }) => reason !== 'identity_changed' && this.dispatch({ type: 'notice', text: `${capitalize(message)}.` }));
      phone.on('identity-changed', (w) => this.dispatch({ type: 'notice', text: describeIdentityWarning(w) }));
      phone.on('disconnected', ({ reason }: { reason: string }) => {
        if (this.phone !== phone) return;
        this.dropPhone();
        this.dispatch({ type: 'disconnected', reason });
      });
      // The server going away does not end a live call: say so, and say when it is back.
      phone.on('server_reconnecting', ({ reason }) => this.dispatch({ type: 'notice', text: `Lost the server (${reason}): reconnecting; a call goes on.` }));
      phone.on('server_reconnected', ({ resumed }) => this.dispatch({ type: 'notice', text: resumed ? 'Back on the server.' : 'Back on the server (it had restarted; registered again).' }));
      this.dispatch({ type: 'connected' });
      // Said on the screen with the registration; on stderr too when that is not the screen (a log file).
      if (!phone.secure && !process.stderr.isTTY) process.stderr.write(`parley: ${UNENCRYPTED_NOTE}\n`);
    } catch (err) {
      this.dispatch({ type: 'connect-failed', message: (err as Error).message });
    }
  }

  /** The phone's state, as the screens' events. */
  private onPhoneState(old: PhoneState, next: PhoneState): void {
    if (next.status === 'ringing') return this.dispatch({ type: 'incoming', from: next.call.from, id: next.call.id });
    if (next.status === 'active') return this.connected(next.call);
    if (next.status !== 'idle' || !next.ended) return;
    const { end } = next.ended;
    switch (old.status) {
      case 'ringing':
        return this.dispatch({ type: 'incoming-gone', id: old.call.id, end });
      case 'dialing':
      case 'connecting':
        return this.dispatch({ type: 'call-failed', end });
      case 'active':
        clearInterval(this.ticker);
        return this.dispatch({ type: 'call-ended', end, now: Date.now() });
    }
  }

  /** Runs one request to the server; a lost connection is reported by 'disconnected' instead. */
  private request<T>(send: () => Promise<T>, ok: (value: T) => UiEvent, failed: (code: string, message: string) => UiEvent): void {
    const phone = this.phone;
    if (!phone) return;
    send().then(
      (value) => {
        if (this.phone === phone) this.dispatch(ok(value));
      },
      (err: Error & { code?: unknown }) => {
        const code = String(err.code ?? 'failed');
        if (this.phone === phone && code !== 'disconnected') this.dispatch(failed(code, err.message));
      },
    );
  }

  private connected(call: ActiveCall): void {
    this.dispatch({ type: 'call-connected', call: callView(call) });
    call.on('device', (change) => this.dispatch({ type: 'device', text: describeDeviceChange(change) }));
    const tick = () => this.dispatch({ type: 'tick', live: liveView(call) });
    tick();
    clearInterval(this.ticker);
    this.ticker = setInterval(tick, TICK_MS);
  }

  /** The room's happenings as the screen's events, its levels on the tick; returns the room as entered. */
  private watchRoom(room: RoomSession): UiEvent {
    const said = (happening: RoomHappening) => this.dispatch({ type: 'room-event', happening, room: roomView(room) });
    room.on('member_joined', ({ name }) => said({ what: 'joined', name }));
    room.on('member_left', ({ name, disconnected }) => said({ what: 'left', name, disconnected }));
    room.on('owner', ({ name }) => said({ what: 'owner', name }));
    room.on('offer', ({ by, terms }) => said({ what: 'offer', by, terms }));
    room.on('nacked', ({ by }) => said({ what: 'nacked', by }));
    room.on('started', ({ terms }) => said({ what: 'started', terms }));
    room.on('incompatible', ({ members }) => said({ what: 'incompatible', members }));
    room.on('untrusted', ({ name, why }) => said({ what: 'untrusted', name, why }));
    room.once('ended', ({ reason, message }) => {
      clearInterval(this.ticker);
      this.dispatch({ type: 'room-ended', reason, message });
    });
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.dispatch({ type: 'room-tick', room: roomView(room) }), TICK_MS);
    return { type: 'room-entered', room: roomView(room), created: room.created };
  }

  private dropPhone(): void {
    const phone = this.phone;
    this.phone = undefined;
    clearInterval(this.ticker);
    if (phone) {
      phone.removeAllListeners();
      phone.close().catch(() => undefined);
    }
  }

  private async exit(code: ExitCode): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    clearInterval(this.ticker);
    const cleanup = this.phone?.close().catch(() => undefined);
    await Promise.race([cleanup, new Promise((r) => setTimeout(r, CLEANUP_MS).unref())]);
    this.terminal.stop();
    this.finish(code ?? EXIT.ok);
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
