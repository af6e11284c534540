#!/usr/bin/env bash
# `promtool check config` on deploy/prometheus/prometheus.yml twice, as each deployment lays it
# out: the lab fleet (its own rules/ and targets/) and the compose file (same prometheus.yml and
# rules/, compose/targets/ mounted as targets/). promtool also loads the rule files and parses
# every file_sd file the targets glob matches, so a bad target list fails here too.
# Usage: check_prometheus_config.sh PROMTOOL DEPLOY_DIR
set -euo pipefail
promtool=$1 deploy=$2
"$promtool" check config "$deploy/prometheus/prometheus.yml"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$deploy/prometheus/prometheus.yml" "$tmp/"
cp -r "$deploy/prometheus/rules" "$tmp/rules"
cp -r "$deploy/compose/targets" "$tmp/targets"
"$promtool" check config "$tmp/prometheus.yml"
