import type { AudioSink, AudioSource, Frame } from '../audio/types';
import { MediaError } from './errors';
import type { Address, UdpLink } from './udp-link';

/**
 * The devices and the socket one media session runs on (a call's or a room's): a failure of any
 * of them reported once as a MediaError (what it then does is the session's `fail`), the sink
 * opened before the source starts, and all of it closed together.
 */
export class SessionIo {
  constructor(
    private readonly io: { source: AudioSource; sink: AudioSink; link: UdpLink },
    private readonly fail: (err: MediaError) => void,
    private readonly packet: (buf: Buffer, from: Address) => void,
  ) {}

  /** Hears the devices' and the socket's failures, and the socket's datagrams. */
  listen(): void {
    const { sink, source, link } = this.io;
    sink.on('error', this.onSinkError);
    source.on('error', this.onSourceError);
    link.on('error', this.onSocketError);
    link.on('packet', this.packet);
  }

  /**
   * Opens the sink, then starts the source. A device that won't open stops the whole session
   * (`session.stop`) and rejects with a MediaError (`output_device`, `input_device`); a session
   * stopped while they opened has its source stopped again.
   */
  async open(samples: number, onFrame: (frame: Frame) => void, session: { stop(): Promise<void>; running(): boolean }): Promise<void> {
    const { sink, source } = this.io;
    try {
      await sink.open().catch((err: unknown) => Promise.reject(MediaError.fromDevice(err, 'output')));
      await source.start(samples, onFrame).catch((err: unknown) => Promise.reject(MediaError.fromDevice(err, 'input')));
    } catch (err) {
      await session.stop();
      throw err;
    }
    if (!session.running()) await source.stop().catch(() => undefined);
  }

  /** No more datagrams: the first step of stopping, before what still sends on the socket says goodbye. */
  deafen(): void {
    this.io.link.off('packet', this.packet);
  }

  /** Closes the socket, stops the source and closes the sink, then stops hearing their failures. */
  async close(): Promise<void> {
    const { sink, source, link } = this.io;
    this.deafen();
    link.close();
    await Promise.allSettled([source.stop(), sink.close()]);
    sink.off('error', this.onSinkError);
    source.off('error', this.onSourceError);
    link.off('error', this.onSocketError);
  }

  private readonly onSourceError = (err: Error): void => this.fail(MediaError.fromDevice(err, 'input'));
  private readonly onSinkError = (err: Error): void => this.fail(MediaError.fromDevice(err, 'output'));
  private readonly onSocketError = (err: Error): void => {
    this.fail(new MediaError('socket', `the media socket failed: ${err.message}`, { detail: err.message, cause: err }));
  };
}
