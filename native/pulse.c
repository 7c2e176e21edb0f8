/*
 * PulseAudio through libpulse's simple API (pa_simple), for parley's speaker and microphone.
 *
 * pa_simple blocks, so each stream runs on a thread of its own and JavaScript never waits:
 * - playback: write() copies into a ring buffer and returns; the writer thread hands the ring
 *   to pa_simple_write a few ms at a time, blocking while the server's buffer is full. How much
 *   audio is still queued when the next write comes is kept near a margin that adapts to how
 *   late writes come (see check_level): a standing delay above it is cut, and running dry
 *   raises it. A ring that outgrows its bound loses its oldest bytes (counted), so delay cannot
 *   build up here; a watchdog ends stalls (see watchdog).
 * - capture: the reader thread loops on pa_simple_read and hands each chunk to JavaScript
 *   through a threadsafe function.
 * Both threads measure pa_simple_get_latency between transfers (pa_simple is not used from two
 * threads at once) and report a failure (server gone) once, then stop. close() never blocks the
 * JavaScript thread either: the thread frees the stream and reports 'closed' when it is done.
 *
 * Events reach JavaScript as onEvent(type, arg): ('open'), ('data', Buffer), ('error', message),
 * ('closed'), the last always last.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <pulse/sample.h>
#include <pulse/error.h>
#include <pulse/simple.h>

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "pulse binding: N-API call failed");   \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

typedef enum { EV_OPEN, EV_DATA, EV_ERROR, EV_CLOSED } event_kind;

typedef struct {
  event_kind kind;
  char *bytes; /* data: the chunk; error: the message (NUL-terminated) */
  size_t length;
} event;

typedef struct {
  pa_simple *pa;
  int playback;
  /* what pa_simple_new is given, on the stream's thread */
  char *server, *device, *name;
  pa_sample_spec spec;
  pa_buffer_attr attr;
  /*
   * playback level (see check_level), µs: the margin wanted queued when a write comes, its
   * bounds (0 = no control), the lowest level seen in the current window and when that began,
   * when the queue last ran dry or nearly, and the bytes still to skip (a standing delay cut)
   */
  int64_t margin_us, margin_floor_us, margin_ceiling_us, window_min_us, window_start_us, last_dry_us, skip_bytes;
  /* playback: the writer waits until the ring holds this much (after running dry), then plays */
  size_t hold_bytes;
  /* playback: when the writer last began playing after a hold */
  int64_t released_us;
  /* playback: bytes taken from the ring and being written now (in neither ring nor server) */
  size_t in_flight;
  int started, came_near;
  uint32_t underruns;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  napi_threadsafe_function tsfn;
  /* playback ring */
  char *ring;
  size_t capacity, head, used, dropped;
  /* capture chunk size */
  size_t chunk;
  int closing, drain;
  /* last pa_simple_get_latency, µs; -1 until measured; and when it was measured */
  int64_t latency_us, measured_us;
  /* when the current pa_simple_write began (µs, CLOCK_MONOTONIC), 0 when not writing */
  int64_t write_since_us;
  /* the stall watchdog (playback): its thread, whether it should stop, stalls ended so far */
  pthread_t watchdog;
  int watchdog_stop;
  uint32_t stalls;
} stream;

static void post(stream *s, event_kind kind, const char *bytes, size_t length) {
  event *ev = malloc(sizeof *ev);
  if (!ev) return;
  ev->kind = kind;
  ev->length = length;
  ev->bytes = NULL;
  if (bytes) {
    ev->bytes = malloc(length + 1);
    if (!ev->bytes) {
      free(ev);
      return;
    }
    memcpy(ev->bytes, bytes, length);
    ev->bytes[length] = 0;
  }
  if (napi_call_threadsafe_function(s->tsfn, ev, napi_tsfn_blocking) != napi_ok) {
    free(ev->bytes);
    free(ev);
  }
}

static void post_error(stream *s, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, pa_strerror(err));
  post(s, EV_ERROR, message, strlen(message));
}

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t measure_latency(stream *s) {
  int err = 0;
  pa_usec_t us = pa_simple_get_latency(s->pa, &err);
  if (us == (pa_usec_t)-1) return -1;
  pthread_mutex_lock(&s->lock);
  s->latency_us = (int64_t)us;
  s->measured_us = now_us();
  pthread_mutex_unlock(&s->lock);
  return (int64_t)us;
}

/*
 * Writes come from a timer on the JavaScript thread, a frame at a time, and may come late: the
 * audio still queued when one comes (the ring, the piece being written, and what the server held
 * when last measured less what has played since) must cover that lateness, and whatever more it
 * holds is delay. So that level is kept near a margin that adapts, as a jitter buffer adapts to
 * its network: (a) running dry (level at zero: a gap was heard) raises the margin by
 * MARGIN_STEP_US and holds playback until the ring has the margin and the frame, as prebuffering
 * would, so the level stays up; coming near it (under DRY_NEAR_US) raises the margin without a
 * hold; (b) each second, the lowest level seen above the margin (by more than MARGIN_SLACK_US)
 * is a standing delay, taken out of the audio still to be written (see cut); (c) after a
 * calm spell without coming near dry, the margin comes down by MARGIN_EASE_US: every FIRST_CALM_US until the first time it came near dry (a call starts with
 * a safe margin and finds its level within seconds), every CALM_US after that (a machine that
 * was late once will be again, and each time is a gap heard).
 * The server's figure includes the sink's own latency, so "dry" here is a little late to see
 * a real underrun: the margin's floor covers that. Runs on the JavaScript thread, locked.
 */
#define MARGIN_STEP_US 8000
#define MARGIN_EASE_US 2000
#define MARGIN_SLACK_US 4000
#define DRY_NEAR_US 2000
#define FIRST_CALM_US 2000000
#define CALM_US 6000000
#define SETTLE_US 60000

static size_t usec_bytes(stream *s, int64_t us) {
  size_t frame = pa_frame_size(&s->spec);
  return us <= 0 ? 0 : pa_usec_to_bytes((pa_usec_t)us, &s->spec) / frame * frame;
}

/* What the writer waits for: `bytes` and the margin behind them, within what the ring holds. */
static size_t hold(stream *s, size_t bytes) {
  size_t want = bytes + usec_bytes(s, s->margin_us);
  return want < s->capacity ? want : s->capacity;
}

static void check_level(stream *s, size_t incoming) {
  int64_t now = now_us();
  if (!s->started) {
    /* The first frame waits for the margin behind it, as after running dry. */
    s->started = 1;
    s->hold_bytes = hold(s, incoming);
    s->window_start_us = s->last_dry_us = now;
    return;
  }
  /* Until playback has run a while, the server's figure says little of what it holds. */
  if (s->hold_bytes || s->latency_us < 0 || s->measured_us < s->released_us + SETTLE_US) return;
  int64_t server = s->latency_us - (now - s->measured_us);
  int64_t level = (int64_t)pa_bytes_to_usec(s->used + s->in_flight, &s->spec) + (server > 0 ? server : 0);
  if (level < DRY_NEAR_US) {
    s->margin_us = s->margin_us + MARGIN_STEP_US < s->margin_ceiling_us ? s->margin_us + MARGIN_STEP_US : s->margin_ceiling_us;
    s->last_dry_us = now;
    s->came_near = 1;
    if (level <= 0) {
      s->underruns++;
      s->hold_bytes = hold(s, s->used + incoming);
    }
    s->window_min_us = -1;
    s->window_start_us = now;
    return;
  }
  if (now - s->last_dry_us > (s->came_near ? CALM_US : FIRST_CALM_US) && s->margin_us > s->margin_floor_us) {
    s->margin_us = s->margin_us - MARGIN_EASE_US > s->margin_floor_us ? s->margin_us - MARGIN_EASE_US : s->margin_floor_us;
    s->last_dry_us = now;
  }
  if (s->window_min_us < 0 || level < s->window_min_us) s->window_min_us = level;
  if (now - s->window_start_us < 1000000) return;
  int64_t excess = s->window_min_us - s->margin_us;
  if (excess > MARGIN_SLACK_US) s->skip_bytes += (int64_t)usec_bytes(s, excess);
  s->window_min_us = -1;
  s->window_start_us = now;
}

/* Connects on the stream's thread (connecting can take a while); posts 'open' or an error. */
static int connect_stream(stream *s) {
  int err = 0;
  s->pa = pa_simple_new(s->server, s->name ? s->name : "parley", s->playback ? PA_STREAM_PLAYBACK : PA_STREAM_RECORD, s->device,
                        s->playback ? "call playback" : "call capture", &s->spec, NULL, &s->attr, &err);
  if (!s->pa) {
    post_error(s, "could not connect", err);
    post(s, EV_CLOSED, NULL, 0);
    return 0;
  }
  post(s, EV_OPEN, NULL, 0);
  return 1;
}

/*
 * A sink can stop asking a small-buffered stream for audio for good: PulseAudio 16's null sink
 * does after the rewind that ends an underrun (docs/architecture.md, "Audio"), and the write
 * then waits forever. Writes are a few ms each (see WRITE_PIECE_US), so one that has waited
 * STALL_US is such a stall; flushing the stream makes the server ask afresh. pa_simple
 * serialises the flush with the blocked write through its mainloop lock.
 */
#define STALL_US 250000
#define WRITE_PIECE_US 10000

static void *watchdog(void *arg) {
  stream *s = arg;
  for (;;) {
    struct timespec nap = {0, 50 * 1000 * 1000};
    nanosleep(&nap, NULL);
    pthread_mutex_lock(&s->lock);
    int stop = s->watchdog_stop;
    int stalled = s->write_since_us && now_us() - s->write_since_us > STALL_US;
    if (stalled) {
      s->stalls++;
      s->write_since_us = now_us();
    }
    pthread_mutex_unlock(&s->lock);
    if (stop) return NULL;
    int err = 0;
    if (stalled) pa_simple_flush(s->pa, &err);
  }
}

/* A sample of the ring (S16LE), `at` bytes after its head. */
static int16_t ring_sample(stream *s, size_t at) {
  unsigned char lo = (unsigned char)s->ring[(s->head + at) % s->capacity], hi = (unsigned char)s->ring[(s->head + at + 1) % s->capacity];
  return (int16_t)(uint16_t)(lo | hi << 8);
}

static void set_ring_sample(stream *s, size_t at, int16_t v) {
  s->ring[(s->head + at) % s->capacity] = (char)(v & 0xff);
  s->ring[(s->head + at + 1) % s->capacity] = (char)((uint16_t)v >> 8);
}

/*
 * Takes what check_level asked to skip out of the ring's head a pitch period at a time, as a
 * time-stretcher compresses: the lag (CUT_MIN_US..CUT_MAX_US) at which the audio best repeats
 * itself over CUT_MATCH_US is found, the audio before it is crossfaded into the audio after it
 * over that span, and the lag is removed. A voice (or any periodic sound) then goes on as it was,
 * a period sooner, with no click and no jump in its phase; silence is cut anywhere. Waits until
 * the ring holds enough to choose. Locked.
 */
#define CUT_MIN_US 2500
#define CUT_MAX_US 12500
#define CUT_MATCH_US 5000

/* Channel 0 of the most frames cut() looks at: CUT_MAX_US + CUT_MATCH_US at 48 kHz, with room. */
#define CUT_SPAN_MAX 1024

static void cut(stream *s) {
  size_t frame = pa_frame_size(&s->spec), channels = s->spec.channels;
  size_t lo = usec_bytes(s, CUT_MIN_US) / frame, hi = usec_bytes(s, CUT_MAX_US) / frame, n = usec_bytes(s, CUT_MATCH_US) / frame;
  if (s->skip_bytes <= 0 || s->used / frame < hi + n || hi + n > CUT_SPAN_MAX) return;
  /* Channel 0 chooses the lag, from a straight copy (the ring wraps); every channel is crossfaded. */
  double v[CUT_SPAN_MAX];
  for (size_t i = 0; i < hi + n; i++) v[i] = ring_sample(s, i * frame);
  size_t best = lo;
  double best_score = -2;
  for (size_t lag = lo; lag <= hi; lag++) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < n; i++) {
      double x = v[i], y = v[lag + i];
      xy += x * y;
      xx += x * x;
      yy += y * y;
    }
    double score = xx * yy > 0 ? xy / sqrt(xx * yy) : 1;
    if (score > best_score) {
      best_score = score;
      best = lag;
    }
  }
  for (size_t i = 0; i < n; i++) {
    double w = (double)i / (double)n;
    for (size_t c = 0; c < channels; c++) {
      size_t at = i * frame + 2 * c, later = (best + i) * frame + 2 * c;
      set_ring_sample(s, later, (int16_t)((1 - w) * ring_sample(s, at) + w * ring_sample(s, later)));
    }
  }
  size_t bytes = best * frame;
  s->skip_bytes = s->skip_bytes > (int64_t)bytes ? s->skip_bytes - (int64_t)bytes : 0;
  s->dropped += bytes;
  s->head = (s->head + bytes) % s->capacity;
  s->used -= bytes;
}

static void *writer(void *arg) {
  stream *s = arg;
  if (!connect_stream(s)) return NULL;
  int watching = pthread_create(&s->watchdog, NULL, watchdog, s) == 0;
  size_t piece = pa_usec_to_bytes(WRITE_PIECE_US, &s->spec);
  size_t max_chunk = s->capacity;
  char *chunk = malloc(max_chunk);
  int failed = chunk == NULL;
  while (!failed) {
    pthread_mutex_lock(&s->lock);
    while ((s->used == 0 || s->used < s->hold_bytes) && !s->closing) pthread_cond_wait(&s->wake, &s->lock);
    if (s->hold_bytes) {
      s->hold_bytes = 0;
      s->released_us = now_us();
    }
    if (s->used == 0 || (s->closing && !s->drain)) {
      pthread_mutex_unlock(&s->lock);
      break;
    }
    cut(s);
    size_t n = s->used < piece ? s->used : piece;
    for (size_t i = 0; i < n; i++) chunk[i] = s->ring[(s->head + i) % s->capacity];
    s->head = (s->head + n) % s->capacity;
    s->used -= n;
    s->in_flight = n;
    s->write_since_us = now_us();
    pthread_mutex_unlock(&s->lock);
    int err = 0;
    int written = n == 0 || pa_simple_write(s->pa, chunk, n, &err) >= 0;
    if (written) measure_latency(s);
    pthread_mutex_lock(&s->lock);
    s->write_since_us = 0;
    s->in_flight = 0;
    pthread_mutex_unlock(&s->lock);
    if (!written) {
      post_error(s, "playback failed", err);
      failed = 1;
      break;
    }
  }
  if (watching) {
    pthread_mutex_lock(&s->lock);
    s->watchdog_stop = 1;
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->watchdog, NULL);
  }
  if (!failed && s->drain) {
    int err = 0;
    pa_simple_drain(s->pa, &err);
  }
  free(chunk);
  pa_simple_free(s->pa);
  s->pa = NULL;
  post(s, EV_CLOSED, NULL, 0);
  return NULL;
}

static void *reader(void *arg) {
  stream *s = arg;
  if (!connect_stream(s)) return NULL;
  char *chunk = malloc(s->chunk);
  while (chunk) {
    pthread_mutex_lock(&s->lock);
    int closing = s->closing;
    pthread_mutex_unlock(&s->lock);
    if (closing) break;
    int err = 0;
    if (pa_simple_read(s->pa, chunk, s->chunk, &err) < 0) {
      post_error(s, "capture failed", err);
      break;
    }
    measure_latency(s);
    post(s, EV_DATA, chunk, s->chunk);
  }
  free(chunk);
  pa_simple_free(s->pa);
  s->pa = NULL;
  post(s, EV_CLOSED, NULL, 0);
  return NULL;
}

/* Runs on the JavaScript thread: turns an event into onEvent(type, arg). */
static void deliver(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  event *ev = data;
  if (env && callback) {
    napi_value args[2], undefined, result;
    napi_get_undefined(env, &undefined);
    const char *type = ev->kind == EV_OPEN ? "open" : ev->kind == EV_DATA ? "data" : ev->kind == EV_ERROR ? "error" : "closed";
    napi_create_string_utf8(env, type, NAPI_AUTO_LENGTH, &args[0]);
    if (ev->kind == EV_DATA) {
      void *copy;
      napi_create_buffer_copy(env, ev->length, ev->bytes, &copy, &args[1]);
    } else if (ev->kind == EV_ERROR) {
      napi_create_string_utf8(env, ev->bytes, ev->length, &args[1]);
    } else {
      args[1] = undefined;
    }
    napi_call_function(env, undefined, callback, 2, args, &result);
  }
  free(ev->bytes);
  free(ev);
}

static void finalize_stream(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  stream *s = data;
  /* The thread has ended (its 'closed' was delivered) or never started. */
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->wake);
  free(s->ring);
  free(s->server);
  free(s->device);
  free(s->name);
  free(s);
}

static int get_u32(napi_env env, napi_value obj, const char *key, uint32_t fallback, uint32_t *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return 0;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) {
    *out = fallback;
    return 1;
  }
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

/* A string property, or NULL when absent; the caller frees it. */
static char *get_string(napi_env env, napi_value obj, const char *key) {
  napi_value v;
  napi_valuetype t;
  size_t len;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return NULL;
  napi_typeof(env, v, &t);
  if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/*
 * open({ playback, server?, device?, name?, rate, channels, tlength, prebuf, minreq, fragsize,
 *        ringBytes, chunkBytes, marginMs, marginFloorMs, marginCeilingMs }, onEvent) → handle, at once: the thread connects and
 * reports 'open', or an error (pa_strerror's text) and 'closed'. Bad options throw.
 */
static napi_value open_stream(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t0, t1;
  if (argc < 2 || napi_typeof(env, argv[0], &t0) != napi_ok || napi_typeof(env, argv[1], &t1) != napi_ok ||
      t0 != napi_object || t1 != napi_function) {
    napi_throw_type_error(env, NULL, "open(options, onEvent) expects an object and a function");
    return NULL;
  }
  napi_value o = argv[0];
  bool playback = false;
  napi_value pv;
  if (napi_get_named_property(env, o, "playback", &pv) == napi_ok) napi_get_value_bool(env, pv, &playback);
  uint32_t rate, channels, tlength, prebuf, minreq, fragsize, ring_bytes, chunk_bytes;
  if (!get_u32(env, o, "rate", 48000, &rate) || !get_u32(env, o, "channels", 1, &channels) ||
      !get_u32(env, o, "tlength", (uint32_t)-1, &tlength) || !get_u32(env, o, "prebuf", (uint32_t)-1, &prebuf) ||
      !get_u32(env, o, "minreq", (uint32_t)-1, &minreq) || !get_u32(env, o, "fragsize", (uint32_t)-1, &fragsize) ||
      !get_u32(env, o, "ringBytes", 48000, &ring_bytes) || !get_u32(env, o, "chunkBytes", 960, &chunk_bytes) ||
      rate == 0 || channels == 0 || channels > 32 || ring_bytes == 0 || chunk_bytes == 0) {
    napi_throw_range_error(env, NULL, "open(): rate, channels, buffer sizes must be positive integers");
    return NULL;
  }
  uint32_t margin_ms, floor_ms, ceiling_ms;
  if (!get_u32(env, o, "marginMs", 0, &margin_ms) || !get_u32(env, o, "marginFloorMs", margin_ms, &floor_ms) ||
      !get_u32(env, o, "marginCeilingMs", margin_ms, &ceiling_ms) || floor_ms > margin_ms || margin_ms > ceiling_ms) {
    napi_throw_range_error(env, NULL, "open(): marginFloorMs <= marginMs <= marginCeilingMs");
    return NULL;
  }

  stream *s = calloc(1, sizeof *s);
  if (!s || (playback && !(s->ring = malloc(ring_bytes)))) {
    free(s);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  s->server = get_string(env, o, "server");
  s->device = get_string(env, o, "device");
  s->name = get_string(env, o, "name");
  s->spec = (pa_sample_spec){.format = PA_SAMPLE_S16LE, .rate = rate, .channels = (uint8_t)channels};
  s->attr = (pa_buffer_attr){.maxlength = (uint32_t)-1, .tlength = tlength, .prebuf = prebuf, .minreq = minreq, .fragsize = fragsize};
  s->margin_us = (int64_t)margin_ms * 1000;
  s->margin_floor_us = (int64_t)floor_ms * 1000;
  s->margin_ceiling_us = (int64_t)ceiling_ms * 1000;
  s->playback = playback;
  s->capacity = ring_bytes;
  s->chunk = chunk_bytes;
  s->latency_us = -1;
  s->window_min_us = -1;
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->wake, NULL);

  napi_value handle, resource_name;
  napi_create_string_utf8(env, "parley-pulse", NAPI_AUTO_LENGTH, &resource_name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, resource_name, 0, 1, NULL, NULL, NULL, deliver, &s->tsfn) != napi_ok ||
      napi_create_external(env, s, finalize_stream, NULL, &handle) != napi_ok) {
    napi_throw_error(env, NULL, "pulse binding: could not set up the stream");
    return NULL;
  }
  if (pthread_create(&s->thread, NULL, playback ? writer : reader, s) != 0) {
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
    s->tsfn = NULL;
    napi_throw_error(env, NULL, "pulse binding: could not start the stream's thread");
    return NULL;
  }
  pthread_detach(s->thread);
  /* An open stream does not keep the process alive: a hung server must not hold it either. */
  napi_unref_threadsafe_function(env, s->tsfn);
  return handle;
}

static stream *unwrap(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "expected a stream handle");
    return NULL;
  }
  return data;
}

/* write(handle, buffer) → bytes dropped so far (the ring's oldest, when it overflowed). */
static napi_value write_stream(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  stream *s = argc >= 2 ? unwrap(env, argv[0]) : NULL;
  if (!s) return NULL;
  char *bytes;
  size_t length;
  bool is_buffer = false;
  napi_is_buffer(env, argv[1], &is_buffer);
  if (!s->playback || !is_buffer || napi_get_buffer_info(env, argv[1], (void **)&bytes, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "write(handle, buffer) expects a playback stream and a Buffer");
    return NULL;
  }
  pthread_mutex_lock(&s->lock);
  if (!s->closing) {
    if (s->margin_ceiling_us > 0) check_level(s, length);
    if (length > s->capacity) {
      s->dropped += length - s->capacity;
      bytes += length - s->capacity;
      length = s->capacity;
    }
    size_t over = s->used + length > s->capacity ? s->used + length - s->capacity : 0;
    s->head = (s->head + over) % s->capacity;
    s->used -= over;
    s->dropped += over;
    for (size_t i = 0; i < length; i++) s->ring[(s->head + s->used + i) % s->capacity] = bytes[i];
    s->used += length;
    pthread_cond_signal(&s->wake);
  }
  double dropped = (double)s->dropped;
  pthread_mutex_unlock(&s->lock);
  CHECK(env, napi_create_double(env, dropped, &result));
  return result;
}

/*
 * latency(handle) → { deviceUs (server's figure, -1 until measured), queuedBytes (ring),
 * stalls (playback stalls the watchdog ended), underruns (times playback ran dry), marginUs
 * (the level it keeps now, see check_level) }.
 */
static napi_value latency_stream(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, device, queued;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  stream *s = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (!s) return NULL;
  pthread_mutex_lock(&s->lock);
  double us = (double)s->latency_us, used = (double)s->used;
  double stalls = (double)s->stalls, underruns = (double)s->underruns, margin = (double)s->margin_us;
  pthread_mutex_unlock(&s->lock);
  napi_value stalls_v, underruns_v, margin_v;
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_double(env, us, &device));
  CHECK(env, napi_create_double(env, used, &queued));
  CHECK(env, napi_create_double(env, stalls, &stalls_v));
  CHECK(env, napi_create_double(env, underruns, &underruns_v));
  CHECK(env, napi_create_double(env, margin, &margin_v));
  CHECK(env, napi_set_named_property(env, result, "deviceUs", device));
  CHECK(env, napi_set_named_property(env, result, "queuedBytes", queued));
  CHECK(env, napi_set_named_property(env, result, "stalls", stalls_v));
  CHECK(env, napi_set_named_property(env, result, "underruns", underruns_v));
  CHECK(env, napi_set_named_property(env, result, "marginUs", margin_v));
  return result;
}

/*
 * close(handle, drain): the thread stops (playback after playing what it holds when `drain`),
 * frees the stream and reports 'closed'. Capture stops after its current read (one chunk).
 */
static napi_value close_stream(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  stream *s = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (!s) return NULL;
  bool drain = false;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &drain);
  pthread_mutex_lock(&s->lock);
  if (!s->closing) {
    s->closing = 1;
    s->drain = drain;
    pthread_cond_signal(&s->wake);
    /* Whoever waits for 'closed' keeps the process alive until it comes (see unref). */
    if (s->tsfn) napi_ref_threadsafe_function(env, s->tsfn);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* unref(handle): a stream that would not close in time no longer keeps the process alive. */
static napi_value unref_stream(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  stream *s = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (s && s->tsfn) napi_unref_threadsafe_function(env, s->tsfn);
  return NULL;
}

/* release(handle): after 'closed', frees the event channel; the handle is then inert. */
static napi_value release_stream(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  stream *s = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (!s || !s->tsfn) return NULL;
  napi_release_threadsafe_function(s->tsfn, napi_tsfn_release);
  s->tsfn = NULL;
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, open_stream, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, write_stream, NULL, NULL, NULL, napi_default, NULL},
      {"latency", NULL, latency_stream, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_stream, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, release_stream, NULL, NULL, NULL, napi_default, NULL},
      {"unref", NULL, unref_stream, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
