#!/usr/bin/env bash
# Session 11 (2026-11-25), at 8cca579 (exp11a-d) and 14edb0f (exp11e-f), device calls on the H100:
#   exp11a: read-variant-knobs.patch applied (read shader variants), then .gpu/exp11a.sh
#   exp11b: cldemote-knob.patch applied (cldemote behind the cached writers), then .gpu/exp11b.sh
#   exp11c: no patch, .gpu/exp11c.sh (the large conv2d shapes' kernel times by run order)
#   exp11d: copy_probe.cpp (here) built against the build's libraries and packed:
#     g++ -std=c++23 -O2 -I buffers/include -I bench/src -I build/glad/gl/include copy_probe.cpp \
#         -o build/copy_probe build/bench/libgpusoak_bench.a build/buffers/libgpusoak_buffers.a \
#         build/libgpusoak_glad.a -ldl -lspdlog -lfmt -lglfw -pthread
#     bench/gpu-run --pack; ../shared/gpu/pack-runtime .gpu build/copy_probe; then .gpu/exp11d.sh
# Each script is the exp11*.sh beside this file; its output the exp11*.txt.
#   exp11e, exp11f: timestamp-knob.patch applied (GL timestamps around each timed pipelined read,
#     GPUSOAK_EXP_TS; no timer at all, GPUSOAK_EXP_NOTIME), then .gpu/exp11e.sh and .gpu/exp11f.sh
#   exp11g: no patch, at 421a8c1, .gpu/exp11g.sh (the stream before and after the heavy benches,
#     and after compacting memory)
