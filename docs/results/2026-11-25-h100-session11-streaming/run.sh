#!/usr/bin/env bash
# Session 11 (2026-11-25), at 8cca579, three device calls on the H100 (three different machines):
#   exp11a: read-variant-knobs.patch applied (read shader variants), then .gpu/exp11a.sh
#   exp11b: cldemote-knob.patch applied (cldemote behind the cached writers), then .gpu/exp11b.sh
#   exp11c: no patch, .gpu/exp11c.sh (the large conv2d shapes' kernel times by run order)
# Each script is the exp11*.sh beside this file; its output the exp11*.txt.
