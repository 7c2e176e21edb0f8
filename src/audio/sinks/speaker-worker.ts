// @ts-nocheck -- plain JavaScript on purpose; see below.
/*
 * Child process that owns the `speaker` addon, so that an abort() inside ALSA or the addon
 * kills only this process (see speaker-sink.ts). Options arrive as JSON in argv[2], audio
 * (S16_LE mono) on stdin; it reports {type:'open'} or {type:'error', message} over IPC.
 *
 * Deliberately plain CommonJS JavaScript (no types, no import/export, everything inside a
 * function): Node runs it from src/ as it is under the tests and from dist/ once compiled,
 * with no TypeScript loader in the child.
 */
(function speakerWorker() {
  const opts = JSON.parse(process.argv[2] || '{}');
  const send = (msg) => process.send?.(msg);
  const die = (err) => {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  };

  let speaker;
  try {
    const Speaker = require('speaker');
    speaker = new Speaker({
      channels: 1,
      bitDepth: 16,
      signed: true,
      sampleRate: opts.sampleRate,
      samplesPerFrame: opts.samplesPerFrame,
      device: opts.device,
    });
    speaker.on('error', die);
    speaker.on('close', () => process.exit(0));
    // The addon opens the device on the first write; opening now lets the parent know the
    // device works before any audio is due, instead of priming it with silence (latency).
    speaker._open();
  } catch (err) {
    die(err);
  }
  send({ type: 'open' });

  // Chunks waiting for the device. Bounded: if the device drains slower than audio arrives,
  // the oldest go, so latency cannot build up here.
  const queue = [];
  let queued = 0;
  let writing = false;
  let ended = false;

  const pump = () => {
    if (writing) return;
    const chunk = queue.shift();
    if (!chunk) {
      if (ended) speaker.end();
      return;
    }
    queued -= chunk.length;
    writing = true;
    speaker.write(chunk, () => {
      writing = false;
      pump();
    });
  };

  process.stdin.on('data', (chunk) => {
    queue.push(chunk);
    queued += chunk.length;
    while (queued > opts.maxQueueBytes && queue.length > 1) queued -= queue.shift().length;
    pump();
  });
  process.stdin.on('end', () => {
    ended = true;
    pump();
  });
  process.on('disconnect', () => process.exit(0));
})();
