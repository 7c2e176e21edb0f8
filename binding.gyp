{
  "variables": {
    "has_pulse": "<!(pkg-config --exists libpulse-simple 2>/dev/null && echo 1 || echo 0)",
    "pulse_cflags": "<!(pkg-config --cflags libpulse-simple 2>/dev/null || true)",
    "pulse_libs": "<!(pkg-config --libs libpulse-simple 2>/dev/null || true)"
  },
  "targets": [
    {
      "target_name": "parley_pulse",
      "conditions": [
        ["has_pulse==1", {
          "sources": ["native/pulse.c"],
          "cflags": ["-Wall", "-Wextra", "-O2", "<@(pulse_cflags)"],
          "libraries": ["<@(pulse_libs)"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
