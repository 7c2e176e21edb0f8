import fc from 'fast-check';
import { END_REASONS, ERROR_CODES, FAIL_CAUSES, MAX_REQ_CHARS } from '../../src/protocol';

/** fast-check arbitraries for signaling lines: every valid message of each direction, and hostile variations. */

// ---- valid messages, one arbitrary a type ---------------------------------------------------
const req = fc.option(fc.oneof(fc.string({ maxLength: MAX_REQ_CHARS }), fc.integer()), { nil: undefined });
const callId = fc.string({ minLength: 1, maxLength: 64 });
const name = fc.string({ maxLength: 40 });
const body = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });
const status = fc.constantFrom('idle', 'ringing', 'in-call');
const cause = fc.option(fc.constantFrom(...FAIL_CAUSES), { nil: undefined });
const endReason = fc.constantFrom(...END_REASONS);
/** A relay offer, absent as often as not. */
const turn = fc.option(
  fc.record({ url: fc.string({ maxLength: 40 }), username: fc.string({ maxLength: 80 }), password: fc.string({ maxLength: 28 }), ttl: fc.integer({ min: 1, max: 86_400 }) }),
  { nil: undefined },
);

/** A record whose optional fields (given as `undefined`-able arbitraries) are absent when undefined. */
function message<T extends Record<string, unknown>>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(fields).map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as T);
}
const t = <T extends string>(type: T) => fc.constant(type);

export const clientMessages = fc.oneof(
  message({ type: t('hello'), req, version: fc.integer(), name }),
  message({ type: t('list'), req, after: fc.option(name, { nil: undefined }), limit: fc.option(fc.integer({ min: 1 }), { nil: undefined }) }),
  message({ type: t('lookup'), req, name }),
  message({ type: t('call'), req, to: name, offer: body }),
  message({
    type: t('answer'),
    req,
    call: callId,
    accept: fc.boolean(),
    answer: fc.option(body, { nil: undefined }),
    reason: fc.option(fc.constantFrom('declined', 'busy', 'incompatible', 'failed'), { nil: undefined }),
    cause,
  }),
  message({ type: t('cancel'), req, call: callId }),
  message({ type: t('candidate'), req, call: callId, candidate: body }),
  message({ type: t('hangup'), req, call: callId, reason: fc.option(fc.constantFrom('hangup', 'failed'), { nil: undefined }), cause }),
  message({ type: t('ping'), req }),
);

export const serverMessages = fc.oneof(
  message({ type: t('welcome'), req, id: fc.string(), name: fc.string(), udpPort: fc.integer(), version: fc.integer() }),
  message({ type: t('users'), req, users: fc.array(fc.record({ name: fc.string(), status }), { maxLength: 5 }), more: fc.option(fc.boolean(), { nil: undefined }) }),
  message({ type: t('user'), req, name: fc.string(), status }),
  message({ type: t('ringing'), req, call: callId, to: fc.string(), turn }),
  message({ type: t('incoming'), call: callId, from: fc.string(), offer: body, turn }),
  message({ type: t('accepted'), call: callId, answer: body }),
  message({ type: t('rejected'), call: callId, reason: endReason, cause }),
  message({ type: t('ended'), call: callId, by: fc.option(fc.string(), { nil: undefined }), reason: endReason, cause }),
  message({ type: t('candidate'), call: callId, from: fc.string(), candidate: body }),
  message({ type: t('ok'), req }),
  message({ type: t('pong'), req }),
  message({
    type: t('error'),
    req,
    code: fc.constantFrom(...ERROR_CODES),
    message: fc.string(),
    retryAfterMs: fc.option(fc.nat(), { nil: undefined }),
  }),
);

/** Replaces, deletes or adds one field somewhere in a message (its body included). */
const mutation = fc.tuple(fc.nat(), fc.constantFrom('replace', 'delete', 'add'), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }));
function mutate(msg: Record<string, unknown>, [pick, how, key, value]: [number, string, string, unknown]): Record<string, unknown> {
  const copy = structuredClone(msg);
  const targets: Record<string, unknown>[] = [copy];
  for (const v of Object.values(copy)) if (v && typeof v === 'object' && !Array.isArray(v)) targets.push(v as Record<string, unknown>);
  const target = targets[pick % targets.length];
  const keys = Object.keys(target);
  const k = how === 'add' || keys.length === 0 ? key : keys[pick % keys.length];
  if (how === 'delete') delete target[k];
  else target[k] = value;
  return copy;
}


/** Lines built to probe a parser: arbitrary text, arbitrary JSON, and valid messages mutated or spliced with junk. */
export function hostileLine(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.json({ maxDepth: 6 }),
    valid.map((m) => JSON.stringify(m)),
    fc.tuple(valid, mutation).map(([m, mu]) => JSON.stringify(mutate(m, mu))),
    fc.tuple(valid, fc.nat(), fc.string({ unit: 'binary', maxLength: 4 })).map(([m, at, junk]) => {
      const s = JSON.stringify(m);
      const i = at % (s.length + 1);
      return s.slice(0, i) + junk + s.slice(i + 1);
    }),
  );
}
