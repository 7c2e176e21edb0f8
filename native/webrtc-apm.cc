/*
 * WebRTC's audio processing module (libwebrtc-audio-processing 0.3) for parley's microphone:
 * echo cancellation, noise suppression, gain control and voice detection on 10 ms frames at
 * 48 kHz mono, 16-bit.
 *
 * One handle is one webrtc::AudioProcessing. JavaScript calls, all synchronous and on the
 * JavaScript thread only:
 *   create({ aec, ns, agc, agcLevel?, agcMaxGainDb?, nsLevel?, aecLevel?, vadLikelihood?,
 *           extendedFilter? }) -> handle
 *   playback(handle, Int16Array(480))               the echo reference (reverse stream)
 *   capture(handle, Int16Array(480), delayMs)      -> boolean (voice), the frame processed in place
 *   reset(handle)                                   forgets the echo path; the settings stay
 *   close(handle)                                   frees the state; idempotent, later calls throw
 * Every argument is checked here (TypeError / RangeError) so that no JavaScript value reaches
 * the library unchecked; an error code from the library becomes an Error naming it.
 *
 * The echo canceller runs with the extended filter and delay-agnostic mode: the reported delay
 * (set_stream_delay_ms) is a hint, and the library's own delay estimate finds the remainder.
 */
#include <node_api.h>

#include <stdint.h>
#include <string.h>
#include <cmath>
#include <new>
#include <string>

#include <webrtc/common.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

namespace {

const int kRate = 48000;
const size_t kSamples = 480; /* 10 ms */
/* What set_stream_delay_ms accepts without a warning. */
const double kMaxDelayMs = 500;

/* Marks this binding's handles, so that an object another addon wrapped is never taken for one. */
const napi_type_tag kHandleTag = {0x7061726c65796170ULL, 0x6d2d68616e646c65ULL};

bool is_handle(napi_env env, napi_value value) {
  bool tagged = false;
  return napi_check_object_type_tag(env, value, &kHandleTag, &tagged) == napi_ok && tagged;
}

struct Apm {
  webrtc::AudioProcessing *apm;
  webrtc::AudioFrame frame;
  bool aec;
};

#define CHECK_NAPI(env, call)                                                    \
  do {                                                                           \
    if ((call) != napi_ok) {                                                     \
      napi_throw_error((env), NULL, "webrtc-apm binding: N-API call failed");    \
      return NULL;                                                               \
    }                                                                            \
  } while (0)

const char *error_name(int code) {
  switch (code) {
    case webrtc::AudioProcessing::kUnspecifiedError: return "unspecified error";
    case webrtc::AudioProcessing::kCreationFailedError: return "creation failed";
    case webrtc::AudioProcessing::kUnsupportedComponentError: return "unsupported component";
    case webrtc::AudioProcessing::kUnsupportedFunctionError: return "unsupported function";
    case webrtc::AudioProcessing::kNullPointerError: return "null pointer";
    case webrtc::AudioProcessing::kBadParameterError: return "bad parameter";
    case webrtc::AudioProcessing::kBadSampleRateError: return "bad sample rate";
    case webrtc::AudioProcessing::kBadDataLengthError: return "bad data length";
    case webrtc::AudioProcessing::kBadNumberChannelsError: return "bad number of channels";
    case webrtc::AudioProcessing::kFileError: return "file error";
    case webrtc::AudioProcessing::kStreamParameterNotSetError: return "stream parameter not set";
    case webrtc::AudioProcessing::kNotEnabledError: return "not enabled";
    case webrtc::AudioProcessing::kBadStreamParameterWarning: return "bad stream parameter";
    default: return "unknown error";
  }
}

/* Throws an Error for a failed library call; returns true when it threw. */
bool apm_failed(napi_env env, int code, const char *what) {
  if (code == webrtc::AudioProcessing::kNoError) return false;
  std::string msg = std::string("webrtc-apm: ") + what + " failed: " + error_name(code) + " (" + std::to_string(code) + ")";
  napi_throw_error(env, "ERR_WEBRTC_APM", msg.c_str());
  return true;
}

void finalize(napi_env, void *data, void *) {
  Apm *a = static_cast<Apm *>(data);
  if (!a) return;
  delete a->apm;
  delete a;
}

/* The handle's state: NULL (with an exception pending) for anything but an open handle. */
Apm *unwrap(napi_env env, napi_value handle) {
  napi_valuetype type;
  if (napi_typeof(env, handle, &type) != napi_ok || type != napi_object) {
    napi_throw_type_error(env, NULL, "webrtc-apm: the first argument must be a handle from create()");
    return NULL;
  }
  void *data = NULL;
  if (!is_handle(env, handle) || napi_unwrap(env, handle, &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "webrtc-apm: the first argument must be a handle from create()");
    return NULL;
  }
  Apm *a = static_cast<Apm *>(data);
  if (!a->apm) {
    napi_throw_error(env, "ERR_WEBRTC_APM_CLOSED", "webrtc-apm: the handle is closed");
    return NULL;
  }
  return a;
}

/* An Int16Array of exactly kSamples; NULL (exception pending) otherwise. */
int16_t *frame_arg(napi_env env, napi_value value) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) {
    napi_throw_type_error(env, NULL, "webrtc-apm: the frame must be an Int16Array");
    return NULL;
  }
  napi_typedarray_type ttype;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &ttype, &length, &data, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "webrtc-apm binding: N-API call failed");
    return NULL;
  }
  if (ttype != napi_int16_array) {
    napi_throw_type_error(env, NULL, "webrtc-apm: the frame must be an Int16Array");
    return NULL;
  }
  if (length != kSamples) {
    std::string msg = "webrtc-apm: a frame is " + std::to_string(kSamples) + " samples (10 ms at 48 kHz), not " + std::to_string(length);
    napi_throw_range_error(env, NULL, msg.c_str());
    return NULL;
  }
  if (!data) {
    napi_throw_type_error(env, NULL, "webrtc-apm: the frame has no storage");
    return NULL;
  }
  return static_cast<int16_t *>(data);
}

/* A property of the options object: its boolean, or `fallback` when absent; -1 after a throw. */
int bool_option(napi_env env, napi_value opts, const char *name, int fallback) {
  napi_value v;
  napi_valuetype type;
  if (napi_get_named_property(env, opts, name, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "webrtc-apm binding: N-API call failed");
    return -1;
  }
  if (type == napi_undefined) return fallback;
  if (type != napi_boolean) {
    std::string msg = std::string("webrtc-apm: options.") + name + " must be a boolean";
    napi_throw_type_error(env, NULL, msg.c_str());
    return -1;
  }
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b ? 1 : 0;
}

/* An integer property within [lo, hi], or `fallback` when absent; false after a throw. */
bool int_option(napi_env env, napi_value opts, const char *name, int lo, int hi, int fallback, int *out) {
  napi_value v;
  napi_valuetype type;
  if (napi_get_named_property(env, opts, name, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "webrtc-apm binding: N-API call failed");
    return false;
  }
  if (type == napi_undefined) {
    *out = fallback;
    return true;
  }
  if (type != napi_number) {
    std::string msg = std::string("webrtc-apm: options.") + name + " must be a number";
    napi_throw_type_error(env, NULL, msg.c_str());
    return false;
  }
  double d = 0;
  napi_get_value_double(env, v, &d);
  if (!std::isfinite(d) || d != std::floor(d) || d < lo || d > hi) {
    std::string msg = std::string("webrtc-apm: options.") + name + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    napi_throw_range_error(env, NULL, msg.c_str());
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

napi_value Create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type = napi_undefined;
  if (argc >= 1) CHECK_NAPI(env, napi_typeof(env, argv[0], &type));
  if (argc < 1 || type != napi_object) {
    napi_throw_type_error(env, NULL, "webrtc-apm: create() takes an options object");
    return NULL;
  }
  napi_value opts = argv[0];
  int aec = bool_option(env, opts, "aec", 0);
  if (aec < 0) return NULL;
  int ns = bool_option(env, opts, "ns", 0);
  if (ns < 0) return NULL;
  int agc = bool_option(env, opts, "agc", 0);
  if (agc < 0) return NULL;
  int agc_level = 0, agc_gain = 0, ns_level = 0, aec_level = 0;
  /* GainControl's target, as its set_target_level_dbfs takes it: dB below full scale. */
  if (!int_option(env, opts, "agcLevel", 0, 31, 3, &agc_level)) return NULL;
  /* The most gain the digital stage adds (dB). */
  if (!int_option(env, opts, "agcMaxGainDb", 0, 90, 9, &agc_gain)) return NULL;
  /* NoiseSuppression::Level: 0 low .. 3 very high. */
  if (!int_option(env, opts, "nsLevel", 0, 3, 2, &ns_level)) return NULL;
  /* EchoCancellation::SuppressionLevel: 0 low .. 2 high. */
  if (!int_option(env, opts, "aecLevel", 0, 2, 0, &aec_level)) return NULL;
  /* VoiceDetection::Likelihood: 0 very low .. 3 high (higher: less clipped speech, more noise taken for it). */
  int vad_likelihood = 0;
  if (!int_option(env, opts, "vadLikelihood", 0, 3, 0, &vad_likelihood)) return NULL;

  /* The echo canceller's extended filter (a longer filter, gentler suppression) and its own delay
   * estimate; both on unless told. */
  int extended = bool_option(env, opts, "extendedFilter", 1);
  if (extended < 0) return NULL;

  webrtc::Config config;
  config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(extended != 0));
  config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
  /* On by default in 0.3: it drives an analog microphone volume and ignores the target and
   * gain set below; parley has no analog volume, so the digital gain control runs instead. */
  config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
  Apm *a = new (std::nothrow) Apm();
  if (!a) {
    napi_throw_error(env, NULL, "webrtc-apm: out of memory");
    return NULL;
  }
  a->apm = webrtc::AudioProcessing::Create(config);
  a->aec = aec != 0;
  if (!a->apm) {
    delete a;
    napi_throw_error(env, "ERR_WEBRTC_APM", "webrtc-apm: AudioProcessing::Create failed");
    return NULL;
  }
  webrtc::AudioProcessing *p = a->apm;
  int err = p->Initialize(kRate, kRate, kRate, webrtc::AudioProcessing::kMono, webrtc::AudioProcessing::kMono,
                          webrtc::AudioProcessing::kMono);
  const char *what = "Initialize";
  if (!err && aec) {
    what = "echo cancellation";
    err = p->echo_cancellation()->enable_drift_compensation(false);
    if (!err) err = p->echo_cancellation()->set_suppression_level(static_cast<webrtc::EchoCancellation::SuppressionLevel>(aec_level));
    if (!err) err = p->echo_cancellation()->Enable(true);
  }
  if (!err && ns) {
    what = "noise suppression";
    err = p->noise_suppression()->set_level(static_cast<webrtc::NoiseSuppression::Level>(ns_level));
    if (!err) err = p->noise_suppression()->Enable(true);
  }
  if (!err && agc) {
    what = "gain control";
    err = p->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
    if (!err) err = p->gain_control()->set_target_level_dbfs(agc_level);
    if (!err) err = p->gain_control()->set_compression_gain_db(agc_gain);
    if (!err) err = p->gain_control()->enable_limiter(true);
    if (!err) err = p->gain_control()->Enable(true);
  }
  if (!err && (aec || ns || agc)) {
    what = "high-pass filter";
    err = p->high_pass_filter()->Enable(true);
  }
  if (!err) {
    what = "voice detection";
    err = p->voice_detection()->set_likelihood(static_cast<webrtc::VoiceDetection::Likelihood>(vad_likelihood));
    if (!err) err = p->voice_detection()->Enable(true);
  }
  if (err) {
    delete a->apm;
    delete a;
    apm_failed(env, err, what);
    return NULL;
  }
  webrtc::AudioFrame &f = a->frame;
  f.sample_rate_hz_ = kRate;
  f.num_channels_ = 1;
  f.samples_per_channel_ = kSamples;

  napi_value handle;
  if (napi_create_object(env, &handle) != napi_ok || napi_type_tag_object(env, handle, &kHandleTag) != napi_ok ||
      napi_wrap(env, handle, a, finalize, NULL, NULL) != napi_ok) {
    delete a->apm;
    delete a;
    napi_throw_error(env, NULL, "webrtc-apm binding: N-API call failed");
    return NULL;
  }
  return handle;
}

void load(Apm *a, const int16_t *samples) {
  webrtc::AudioFrame &f = a->frame;
  f.sample_rate_hz_ = kRate;
  f.num_channels_ = 1;
  f.samples_per_channel_ = kSamples;
  memcpy(f.data_, samples, kSamples * sizeof(int16_t));
}

/*
 * The arguments of playback(handle, frame) and capture(handle, frame, delayMs): `want` of them
 * into argv, the handle and the frame checked. False with a JavaScript exception pending when any
 * is wrong.
 */
bool frame_call(napi_env env, napi_callback_info info, size_t want, const char *usage, napi_value *argv, Apm **a, int16_t **samples) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "webrtc-apm binding: N-API call failed");
    return false;
  }
  if (argc < want) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  *a = unwrap(env, argv[0]);
  if (!*a) return false;
  *samples = frame_arg(env, argv[1]);
  return *samples != NULL;
}

napi_value Playback(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Apm *a;
  int16_t *samples;
  if (!frame_call(env, info, 2, "webrtc-apm: playback(handle, frame)", argv, &a, &samples)) return NULL;
  load(a, samples);
  /* The reverse stream is only analysed (the far end's sound is not altered). */
  if (apm_failed(env, a->apm->AnalyzeReverseStream(&a->frame), "AnalyzeReverseStream")) return NULL;
  return NULL;
}

napi_value Capture(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Apm *a;
  int16_t *samples;
  if (!frame_call(env, info, 3, "webrtc-apm: capture(handle, frame, delayMs)", argv, &a, &samples)) return NULL;
  napi_valuetype type;
  CHECK_NAPI(env, napi_typeof(env, argv[2], &type));
  if (type != napi_number) {
    napi_throw_type_error(env, NULL, "webrtc-apm: delayMs must be a number");
    return NULL;
  }
  double delay = 0;
  CHECK_NAPI(env, napi_get_value_double(env, argv[2], &delay));
  if (!std::isfinite(delay) || delay < 0 || delay > kMaxDelayMs) {
    napi_throw_range_error(env, NULL, "webrtc-apm: delayMs must be within [0, 500]");
    return NULL;
  }
  load(a, samples);
  if (a->aec && apm_failed(env, a->apm->set_stream_delay_ms(static_cast<int>(std::lround(delay))), "set_stream_delay_ms"))
    return NULL;
  if (apm_failed(env, a->apm->ProcessStream(&a->frame), "ProcessStream")) return NULL;
  memcpy(samples, a->frame.data_, kSamples * sizeof(int16_t));
  napi_value result;
  CHECK_NAPI(env, napi_get_boolean(env, a->apm->voice_detection()->stream_has_voice(), &result));
  return result;
}

napi_value Reset(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "webrtc-apm: reset(handle)");
    return NULL;
  }
  Apm *a = unwrap(env, argv[0]);
  if (!a) return NULL;
  /* Initialize() keeps the configuration and clears every stage's state (the echo path too). */
  if (apm_failed(env, a->apm->Initialize(), "Initialize")) return NULL;
  return NULL;
}

napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type = napi_undefined;
  if (argc >= 1) CHECK_NAPI(env, napi_typeof(env, argv[0], &type));
  void *data = NULL;
  if (type != napi_object || !is_handle(env, argv[0]) || napi_unwrap(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "webrtc-apm: close() takes a handle from create()");
    return NULL;
  }
  Apm *a = static_cast<Apm *>(data);
  /* The Apm itself stays wrapped (freed by the finalizer); only the library state goes now. */
  delete a->apm;
  a->apm = NULL;
  return NULL;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, Create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"playback", NULL, Playback, NULL, NULL, NULL, napi_enumerable, NULL},
      {"capture", NULL, Capture, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reset", NULL, Reset, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK_NAPI(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
