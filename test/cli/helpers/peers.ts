/**
 * In-process parties for the CLI tests: Phones that decline or ignore calls. Calls that
 * connect use a `parley answer --auto` process instead, as a real peer would be.
 */
import { Phone, type IncomingCall, type PhoneOptions } from '../../../src/client/phone';

export type Behaviour = 'decline' | 'ignore';

export async function peer(port: number, name: string, behaviour: Behaviour, opts: Partial<PhoneOptions> = {}): Promise<Phone> {
  const phone = await Phone.connect({ server: { host: '127.0.0.1', port }, udpHost: '127.0.0.1', input: 'tone:660', output: 'null', ...opts });
  await phone.register(name);
  phone.on('incoming', (call: IncomingCall) => {
    // A moment's thought before declining, as a person would take.
    if (behaviour === 'decline') setTimeout(() => call.decline().catch(() => undefined), 100);
  });
  return phone;
}
