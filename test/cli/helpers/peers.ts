/** In-process parties for the CLI tests: Phones that answer, decline or ignore calls. */
import { Phone, type CallEnd, type IncomingCall, type PhoneOptions } from '../../../src/client/phone';

export type Behaviour = 'accept' | 'decline' | 'ignore';

export interface Peer {
  phone: Phone;
  /** How the first call this peer accepted ended. */
  firstEnd: Promise<CallEnd>;
}

export async function peer(port: number, name: string, behaviour: Behaviour, opts: Partial<PhoneOptions> = {}): Promise<Peer> {
  const phone = await Phone.connect({ server: { host: '127.0.0.1', port }, udpHost: '127.0.0.1', input: 'tone:660', output: 'null', ...opts });
  await phone.register(name);
  const firstEnd = new Promise<CallEnd>((resolve) =>
    phone.on('incoming', (call: IncomingCall) => {
      if (behaviour === 'accept') call.accept().then((active) => active.once('ended', resolve), () => undefined);
      // A moment's thought before declining, as a person would take.
      if (behaviour === 'decline') setTimeout(() => call.decline().catch(() => undefined), 100);
    }),
  );
  return { phone, firstEnd };
}
