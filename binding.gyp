{
  "variables": {
    "has_pulse": "<!(pkg-config --exists libpulse-simple 2>/dev/null && echo 1 || echo 0)",
    "pulse_cflags": "<!(pkg-config --cflags libpulse-simple 2>/dev/null || true)",
    "pulse_libs": "<!(pkg-config --libs libpulse-simple 2>/dev/null || true)",
    "has_speexdsp": "<!(pkg-config --exists speexdsp 2>/dev/null && echo 1 || echo 0)",
    "speexdsp_cflags": "<!(pkg-config --cflags speexdsp 2>/dev/null || true)",
    "speexdsp_libs": "<!(pkg-config --libs speexdsp 2>/dev/null || true)",
    "has_apm": "<!(pkg-config --exists webrtc-audio-processing 2>/dev/null && echo 1 || echo 0)",
    "apm_cflags": "<!(pkg-config --cflags webrtc-audio-processing 2>/dev/null || true)",
    "apm_libs": "<!(pkg-config --libs webrtc-audio-processing 2>/dev/null || true)"
  },
  "targets": [
    {
      "target_name": "parley_pulse",
      "conditions": [
        ["has_pulse==1", {
          "sources": ["native/pulse.c"],
          "cflags": ["-Wall", "-Wextra", "-O2", "<@(pulse_cflags)"],
          "libraries": ["<@(pulse_libs)", "-lm"]
        }, {
          "type": "none"
        }]
      ]
    },
    {
      "target_name": "parley_speexdsp",
      "conditions": [
        ["has_speexdsp==1", {
          "sources": ["native/speexdsp.c"],
          "cflags": ["-Wall", "-Wextra", "-O2", "<@(speexdsp_cflags)"],
          "libraries": ["<@(speexdsp_libs)", "-lm"]
        }, {
          "type": "none"
        }]
      ]
    },
    {
      "target_name": "parley_apm",
      "conditions": [
        ["has_apm==1", {
          "sources": ["native/webrtc-apm.cc"],
          "cflags_cc": ["-std=c++14", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "<@(apm_cflags)"],
          "libraries": ["<@(apm_libs)"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
