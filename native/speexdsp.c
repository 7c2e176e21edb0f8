/*
 * Voice processing through libspeexdsp for parley's microphone: echo cancellation (MDF), then
 * the preprocessor (denoise, residual echo suppression, AGC, VAD), on 10 ms frames at 48 kHz.
 *
 * The canceller needs the far end aligned with the echo in the microphone, so played frames go
 * into a delay line (one slot per 10 ms, 500 ms) and each capture takes the one played about the
 * echo's delay earlier: the delay the devices report, plus what an estimator finds beyond it
 * (correlating far and microphone envelopes). With the bulk delay known the filter's tail only
 * covers the room and the estimate's error, and a short filter converges faster than a long one.
 *
 * JavaScript gets an external handle: create(options), playback(h, Int16Array),
 * capture(h, Int16Array, delayMs) → speech, reset(h), close(h). Every argument is checked and a
 * bad one throws; nothing here may abort the process.
 */
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

#define RATE 48000
#define FRAME 480           /* 10 ms */
#define SLOTS 51            /* 500 ms of reference, plus the frame being played */
#define DEFAULT_TAIL_MS 60  /* beyond the bulk delay: room, margin, estimate error (60 measured best of 60..250) */
#define AGC_OFFSET_DB 16    /* speex's AGC level sits this far above the speech RMS it yields */
#define MARGIN_MS 10        /* aim the reference this much early: the filter is causal */
#define MAX_DELAY_MS 10000  /* beyond this a reported delay is nonsense */
/* The bulk-delay estimator: 2 ms envelopes, correlated over 1 s for lags up to 500 ms. */
#define BLOCK 96
#define BLOCKS_PER_FRAME (FRAME / BLOCK)
#define WINDOW 500
#define MAX_LAG 250
#define HIST (WINDOW + MAX_LAG)
#define EVERY 10            /* frames between estimates */
#define MIN_CORR 0.6        /* below this the far end is not what the microphone hears */

typedef struct {
  SpeexEchoState *echo; /* NULL when aec is off */
  SpeexPreprocessState *pre;
  bool closed;
  /* The delay line: ring[(written - 1 - k) % SLOTS] was played k frames ago. */
  int16_t ring[SLOTS][FRAME];
  uint64_t written;
  int played_since_capture;
  bool speech; /* the last frame's verdict */
  /* Envelopes (RMS per block) of the far end as played each capture and of the microphone. */
  float far_env[HIST], mic_env[HIST];
  uint64_t blocks;
  int candidate;      /* the last estimate (blocks), -1 = none; two alike are believed */
  int offset_ms;      /* the echo's delay beyond the reported one, as estimated */
  bool locked;
  int back;           /* the reference's age in frames, as used by the filter */
  int tail_ms;
  int16_t out[FRAME];
} engine;

static const napi_type_tag TAG = {0x7061726c65797370ULL, 0x6565786473703031ULL};

static void destroy(engine *e) {
  if (e->echo) speex_echo_state_destroy(e->echo);
  if (e->pre) speex_preprocess_state_destroy(e->pre);
  e->echo = NULL;
  e->pre = NULL;
  e->closed = true;
}

static void forget(engine *e) {
  memset(e->ring, 0, sizeof e->ring);
  e->written = 0;
  e->played_since_capture = 0;
  e->blocks = 0;
  e->candidate = -1;
  e->locked = false;
  e->offset_ms = 0;
  e->back = 0;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  destroy(data);
  free(data);
}

/* Reads options[key]: absent → dflt; present must be the right type (and finite). */
static bool get_bool(napi_env env, napi_value obj, const char *key, bool *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_boolean) {
    napi_throw_type_error(env, NULL, "speexdsp: options.aec, .ns and .agc must be booleans");
    return false;
  }
  return napi_get_value_bool(env, v, out) == napi_ok;
}

static bool get_number(napi_env env, napi_value obj, const char *key, double dflt, double lo, double hi, double *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_undefined) {
    *out = dflt;
    return true;
  }
  if (t != napi_number || napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "speexdsp: options.tailMs and .agcTargetDbfs must be numbers");
    return false;
  }
  if (!isfinite(*out) || *out < lo || *out > hi) {
    napi_throw_range_error(env, NULL, "speexdsp: options.tailMs must be 10..1000, .agcTargetDbfs -60..0");
    return false;
  }
  return true;
}

static float block_rms(const int16_t *x) {
  float e = 0;
  for (int i = 0; i < BLOCK; i++) e += (float)x[i] * x[i];
  return sqrtf(e / BLOCK);
}

/*
 * The lag (blocks) at which the far envelope best matches the microphone's over the last
 * WINDOW blocks, or -1 when no lag matches well (far end quiet, double talk, no echo).
 */
static int estimate_lag(const engine *e) {
  if (e->blocks < WINDOW) return -1;
  int max_lag = e->blocks - WINDOW < MAX_LAG ? (int)(e->blocks - WINDOW) : MAX_LAG;
  /* Unrolled from the rings: far[MAX_LAG + j - lag] lines up with mic[j]. */
  float far[HIST], mic[WINDOW];
  uint64_t start = e->blocks - WINDOW;
  for (int j = 0; j < WINDOW; j++) mic[j] = e->mic_env[(start + j) % HIST];
  for (int j = MAX_LAG - max_lag; j < HIST; j++) far[j] = e->far_env[(start + j - MAX_LAG) % HIST];
  double mm = 0, mv = 0;
  for (int j = 0; j < WINDOW; j++) mm += mic[j];
  mm /= WINDOW;
  for (int j = 0; j < WINDOW; j++) {
    mic[j] -= (float)mm;
    mv += (double)mic[j] * mic[j];
  }
  if (mv < WINDOW * 1.0) return -1; /* a silent microphone */
  double best = MIN_CORR;
  int best_lag = -1;
  for (int lag = 0; lag <= max_lag; lag++) {
    const float *f = far + MAX_LAG - lag;
    float fs = 0, ff = 0, c = 0;
    for (int j = 0; j < WINDOW; j++) {
      fs += f[j];
      ff += f[j] * f[j];
      c += f[j] * mic[j]; /* mic is zero-mean: the far mean drops out */
    }
    double fv = ff - (double)fs * fs / WINDOW;
    if (fv < WINDOW * 1.0) continue;
    double corr = c / sqrt(fv * mv);
    if (corr > best) best = corr, best_lag = lag;
  }
  return best_lag;
}

/* The reference for this capture, aligned by the reported delay and the estimated excess. */
static const int16_t *reference(engine *e, const int16_t *mic, double delay_ms) {
  /* Nothing played since the last capture: the speaker is silent for this 10 ms. */
  if (e->played_since_capture == 0) {
    memset(e->ring[e->written % SLOTS], 0, sizeof e->ring[0]);
    e->written++;
  }
  e->played_since_capture = 0;
  const int16_t *now = e->ring[(e->written - 1) % SLOTS];
  for (int b = 0; b < BLOCKS_PER_FRAME; b++, e->blocks++) {
    e->far_env[e->blocks % HIST] = block_rms(now + b * BLOCK);
    e->mic_env[e->blocks % HIST] = block_rms(mic + b * BLOCK);
  }
  if (e->blocks % (EVERY * BLOCKS_PER_FRAME) == 0) {
    int lag = estimate_lag(e);
    if (lag >= 0 && e->candidate >= 0 && abs(lag - e->candidate) <= 1) {
      e->offset_ms = lag * BLOCK * 1000 / RATE - (int)delay_ms;
      e->locked = true;
    }
    e->candidate = lag;
  }
  /*
   * A new age misaligns what the filter learnt, so it starts afresh. The age only changes when
   * the echo leaves the part of the tail it covers (after the reference, within half the tail),
   * not when a reported delay or an estimate wanders by a few ms across a frame boundary.
   */
  double total = delay_ms + (e->locked ? e->offset_ms : 0);
  double ahead = total - e->back * 10.0;
  if (ahead < 0 || ahead > e->tail_ms / 2) {
    int want = total > MARGIN_MS ? (int)((total - MARGIN_MS) / 10.0) : 0;
    if (want > SLOTS - 1) want = SLOTS - 1;
    if (want != e->back) {
      e->back = want;
      speex_echo_state_reset(e->echo);
    }
  }
  int back = (uint64_t)e->back > e->written - 1 ? (int)(e->written - 1) : e->back; /* not played yet: the oldest there is */
  return e->ring[(e->written - 1 - back) % SLOTS];
}

/* create({ aec, ns, agc, tailMs?, agcTargetDbfs? }) → handle */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], handle;
  napi_valuetype t = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, NULL, "speexdsp: create(options) expects an object");
    return NULL;
  }
  bool aec, ns, agc;
  double tail_ms, target_dbfs;
  if (!get_bool(env, argv[0], "aec", &aec) || !get_bool(env, argv[0], "ns", &ns) || !get_bool(env, argv[0], "agc", &agc) ||
      !get_number(env, argv[0], "tailMs", DEFAULT_TAIL_MS, 10, 1000, &tail_ms) ||
      !get_number(env, argv[0], "agcTargetDbfs", -20, -60, 0, &target_dbfs))
    return NULL;

  engine *e = calloc(1, sizeof *e);
  if (!e) {
    napi_throw_error(env, NULL, "speexdsp: out of memory");
    return NULL;
  }
  int rate = RATE;
  forget(e);
  e->pre = speex_preprocess_state_init(FRAME, RATE);
  if (aec) {
    /* The MDF filter works in blocks of a frame: round the tail up to whole frames. */
    e->tail_ms = (int)ceil(tail_ms / 10.0) * 10;
    int tail = e->tail_ms * FRAME / 10;
    e->echo = speex_echo_state_init(FRAME, tail);
    if (e->echo) speex_echo_ctl(e->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
  }
  if (!e->pre || (aec && !e->echo)) {
    destroy(e);
    free(e);
    napi_throw_error(env, NULL, "speexdsp: could not create the state");
    return NULL;
  }
  /*
   * Speex applies its residual echo suppression only through the denoiser's gain, so with aec
   * but not ns the denoiser runs with no noise attenuation (0 dB): echo is suppressed, noise kept.
   */
  int on = 1, off = 0;
  int denoise = ns || aec ? 1 : 0;
  int noise_db = ns ? -40 : 0;
  speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_SET_DENOISE, &denoise);
  speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &noise_db);
  speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_SET_DEREVERB, &off);
  if (agc) {
    /* Speex's AGC level is a weighted loudness, not an RMS (see AGC_OFFSET_DB). */
    float level = (float)(32768.0 * pow(10.0, (target_dbfs + AGC_OFFSET_DB) / 20.0));
    int max_gain_db = 40, increment_db = 12, decrement_db = -40;
    speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_SET_AGC, &on);
    speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_SET_AGC_LEVEL, &level);
    speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, &max_gain_db);
    speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_SET_AGC_INCREMENT, &increment_db);
    speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_SET_AGC_DECREMENT, &decrement_db);
  }
  if (e->echo) speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_SET_ECHO_STATE, e->echo);

  if (napi_create_external(env, e, finalize, NULL, &handle) != napi_ok || napi_type_tag_object(env, handle, &TAG) != napi_ok) {
    destroy(e);
    free(e);
    napi_throw_error(env, NULL, "speexdsp: could not create the handle");
    return NULL;
  }
  return handle;
}

/* The engine behind argv[0] (an open one), or NULL with a JS error thrown. */
static engine *unwrap(napi_env env, size_t argc, napi_value *argv) {
  void *data = NULL;
  bool tagged = false;
  napi_valuetype t = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, argv[0], &TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "speexdsp: expected an engine handle");
    return NULL;
  }
  engine *e = data;
  if (e->closed) {
    napi_throw_error(env, NULL, "speexdsp: the engine is closed");
    return NULL;
  }
  return e;
}

/* argv[1] as a 480-sample Int16Array, or NULL with a JS error thrown. */
static int16_t *frame_arg(napi_env env, size_t argc, napi_value *argv) {
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (argc < 2 || napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int16_array) {
    napi_throw_type_error(env, NULL, "speexdsp: expected an Int16Array frame");
    return NULL;
  }
  if (length != FRAME || !data) {
    napi_throw_range_error(env, NULL, "speexdsp: a frame is 480 samples (10 ms at 48 kHz)");
    return NULL;
  }
  return data;
}

/* playback(handle, frame): the frame being handed to the speaker. */
static napi_value playback(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  engine *e = unwrap(env, argc, argv);
  int16_t *frame = e ? frame_arg(env, argc, argv) : NULL;
  if (!frame || !e->echo) return NULL;
  memcpy(e->ring[e->written % SLOTS], frame, sizeof e->ring[0]);
  e->written++;
  e->played_since_capture++;
  return NULL;
}

/* capture(handle, frame, delayMs) → the VAD's verdict; the frame is processed in place. */
static napi_value capture(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  double delay_ms = 0;
  napi_valuetype t = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  engine *e = unwrap(env, argc, argv);
  int16_t *frame = e ? frame_arg(env, argc, argv) : NULL;
  if (!frame) return NULL;
  if (argc < 3 || napi_typeof(env, argv[2], &t) != napi_ok || t != napi_number || napi_get_value_double(env, argv[2], &delay_ms) != napi_ok) {
    napi_throw_type_error(env, NULL, "speexdsp: delayMs must be a number");
    return NULL;
  }
  if (!isfinite(delay_ms) || delay_ms < 0 || delay_ms > MAX_DELAY_MS) {
    napi_throw_range_error(env, NULL, "speexdsp: delayMs must be 0..10000");
    return NULL;
  }
  if (e->echo) {
    const int16_t *far = reference(e, frame, delay_ms);
    speex_echo_cancellation(e->echo, frame, far, e->out);
    memcpy(frame, e->out, sizeof e->out);
  }
  /*
   * Speex's own VAD switch only prints a warning and thresholds the speech probability with
   * hysteresis; the same is done here, quietly (its default thresholds, 35% and 20%).
   */
  speex_preprocess_run(e->pre, frame);
  int prob = 0;
  speex_preprocess_ctl(e->pre, SPEEX_PREPROCESS_GET_PROB, &prob);
  e->speech = prob > (e->speech ? 20 : 35);
  napi_get_boolean(env, e->speech, &result);
  return result;
}

/* reset(handle): forgets the echo path and the reference; settings stay. */
static napi_value reset(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  engine *e = unwrap(env, argc, argv);
  if (!e || !e->echo) return NULL;
  speex_echo_state_reset(e->echo);
  forget(e);
  return NULL;
}

/* close(handle): frees the state now; idempotent. */
static napi_value close_engine(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  bool tagged = false;
  napi_valuetype t = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, argv[0], &TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "speexdsp: expected an engine handle");
    return NULL;
  }
  destroy(data);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_default, NULL},
      {"playback", NULL, playback, NULL, NULL, NULL, napi_default, NULL},
      {"capture", NULL, capture, NULL, NULL, NULL, napi_default, NULL},
      {"reset", NULL, reset, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_engine, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) {
    napi_throw_error(env, NULL, "speexdsp binding: could not define its functions");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
