# The allocator parley-server runs with (sourced by bin/parley-server; read by bin/launcher-env.js).
# glibc's malloc keeps memory that a burst of hostile input or connections made the server
# allocate: its thresholds grow after large frees and freed fragments stay pinned between live
# allocations. jemalloc gives such memory back within seconds, so where it is installed
# (Debian: libjemalloc2) it is preloaded; elsewhere glibc's thresholds are fixed, which halves what
# stays. docs/architecture.md (the soak) has the figures.
parley_jemalloc=
for lib in /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2; do
  if [ -z "$parley_jemalloc" ] && [ -e "$lib" ]; then parley_jemalloc=$lib; fi
done
if [ -n "$parley_jemalloc" ]; then
  export LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD:}$parley_jemalloc"
  export MALLOC_CONF="${MALLOC_CONF:-background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0}"
else
  export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=65537"
fi
unset parley_jemalloc lib
