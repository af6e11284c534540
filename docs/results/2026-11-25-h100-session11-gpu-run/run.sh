#!/usr/bin/env bash
# Session 11 (2026-11-25): the whole bench/gpu-run on the H100 at 27d205f (targets.txt judged the
# stream at the median of paired rounds); targets-rejudged.txt is e870fb3's bench/targets.py on the
# same JSON (our median stream against the fastest pinned copy):
#   tar xzf json.tar.gz -C json && python3 bench/targets.py json
source .gpu/env.sh; bench/gpu-run --run
