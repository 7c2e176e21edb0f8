/** `parley users`: who is online, then exit. Standard output holds the list and nothing else. */
import { EXIT, type ExitCode } from '../exit-codes';
import type { PhoneOptions } from '../phone';
import type { Reporter } from './reporter';
import { openPhone, temporaryName } from './session';

export async function users(opts: { phone: PhoneOptions; name?: string }, report: Reporter): Promise<ExitCode> {
  const phone = await openPhone(opts.phone, opts.name ?? temporaryName('users'), report);
  try {
    const me = phone.name?.toLowerCase();
    const others = (await phone.list()).filter((u) => u.name.toLowerCase() !== me);
    if (others.length === 0) report.event('users', { users: [] }, '(no one else is online)');
    else report.data('users', { users: others }, others.map((u) => `${u.name}\t${u.status}`).join('\n'));
    return EXIT.ok;
  } finally {
    await phone.close();
  }
}
