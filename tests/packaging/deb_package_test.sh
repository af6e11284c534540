#!/bin/sh
# checks that `cpack -G DEB` builds gpusoak_<version>_<arch>.deb as a lab machine installs it
# (`apt install ./gpusoak_*.deb`): its control data (Depends computed from the programs' libraries,
# the conffile, maintainer scripts that neither enable nor start the service, and that create the
# user when run, on a private copy of /etc),
# its files under /usr and /etc, a unit whose ExecStart runs /usr/bin/gpusoakd (systemd's own
# checks, as for the source unit), and that the packaged gpusoak, unpacked far from the source and
# build trees, runs the smoke plan to a passing verdict and carries no source or build path.
# Usage: deb_package_test.sh CPACK BUILD_DIR WORK_DIR SOURCE_DIR VERSION PYTHON3 CHECK_STRINGS(0|1)
set -eu
cpack=$1 build_dir=$2 work=$3 source_dir=$4 version=$5 python=$6 check_strings=$7
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work"
start=$(date +%s)
(cd "$build_dir" && "$cpack" -G DEB -B "$work") >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
echo "cpack: $(($(date +%s) - start)) s"
arch=$(dpkg --print-architecture)
deb="$work/gpusoak_${version}_${arch}.deb"
[ -f "$deb" ] || { ls "$work"; fail "no $deb"; }

# Control data.
[ "$(dpkg-deb -f "$deb" Package)" = gpusoak ] || fail "Package is not gpusoak"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "Architecture is not $arch"
depends=$(dpkg-deb -f "$deb" Depends)
# From dpkg-shlibdeps (a library of each kind the programs link) and the dlopened libEGL.
for lib in libegl1 libsqlite3-0 libyaml-cpp libprometheus-cpp-core libstdc++6; do
  echo "$depends" | grep -q "$lib" || fail "Depends lacks $lib: $depends"
done
control="$work/control"
mkdir "$control" && dpkg-deb -e "$deb" "$control"
[ "$(cat "$control/conffiles")" = /etc/default/gpusoakd ] || fail "conffiles is not /etc/default/gpusoakd: $(cat "$control/conffiles")"
for script in postinst prerm postrm; do
  [ -x "$control/$script" ] || fail "no executable $script"
  sh -n "$control/$script" || fail "$script is not valid sh"
done
grep -q "systemd-sysusers gpusoak.conf" "$control/postinst" || fail "postinst does not create the gpusoak user"
grep -q "daemon-reload" "$control/postinst" || fail "postinst does not reload systemd"
# On an upgrade it may restart a running gpusoakd (try-restart), never start a stopped one.
if grep -v '^ *#' "$control/postinst" | grep -Eq "systemctl (enable|start|restart|reload-or-restart)|--now"; then
  fail "postinst enables or starts gpusoakd; it must wait for its settings"
fi

# Files.
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/contents"
for f in ./usr/bin/gpusoak ./usr/bin/gpusoakd ./usr/share/gpusoak/plans/smoke.yaml ./usr/share/gpusoak/plans/nightly.yaml \
  ./usr/share/gpusoak/plans/release.yaml ./usr/lib/systemd/system/gpusoakd.service ./usr/lib/sysusers.d/gpusoak.conf \
  ./etc/default/gpusoakd ./usr/share/gpusoak/prometheus/rules/gpusoak-alerts.yml \
  ./usr/share/gpusoak/grafana/dashboards/gpusoak-fleet.json; do
  grep -qx "$f" "$work/contents" || { cat "$work/contents"; fail "the package has no $f"; }
done
if grep -v -e '^\./usr/' -e '^\./etc/' "$work/contents" | grep -q .; then
  fail "files outside /usr and /etc: $(grep -v -e '^\./usr/' -e '^\./etc/' "$work/contents")"
fi

# Unpacked (dpkg -x: the files, no maintainer scripts) far from the source and build trees.
far=$(mktemp -d /tmp/gpusoak-deb-XXXXXX)
trap 'rm -rf "$far"' EXIT
case "$far/" in "$source_dir"/* | "$build_dir"/*) fail "$far is inside the source or build tree" ;; esac
root="$far/root"
dpkg -x "$deb" "$root"
"$python" "$source_dir/tests/deploy/check_systemd_unit.py" --unit "$root/usr/lib/systemd/system/gpusoakd.service" \
  --env "$root/etc/default/gpusoakd" --sysusers "$root/usr/lib/sysusers.d/gpusoak.conf" --daemon /usr/bin/gpusoakd ||
  fail "the packaged unit"
grep -qx "EnvironmentFile=-/etc/default/gpusoakd" "$root/usr/lib/systemd/system/gpusoakd.service" ||
  fail "the packaged unit does not read /etc/default/gpusoakd"

# The maintainer scripts as dpkg runs them (root), in a private mount namespace over a copy of /etc
# and of /usr/lib/sysusers.d, so the users they create never reach this machine: configure makes
# the gpusoak user in render and video, through systemd-sysusers and again through the useradd
# fallback (no systemd, as in a container), twice each (an upgrade); remove and purge succeed.
unshare --mount --propagation private true 2>/dev/null ||
  fail "unshare --mount (root, CAP_SYS_ADMIN) is needed to run the maintainer scripts on a copy of /etc"
mkdir "$far/no-sysusers"
for tool in getent groupadd useradd; do ln -s "$(command -v "$tool")" "$far/no-sysusers/$tool"; done
far="$far" root="$root" control="$control" unshare --mount --propagation private sh -eu -c '
  fail() { echo "FAIL: $*"; exit 1; }
  cp -a /etc "$far/etc" && mount --bind "$far/etc" /etc
  mkdir "$far/sysusers.d" && cp -a /usr/lib/sysusers.d/. "$far/sysusers.d/"
  cp "$root/usr/lib/sysusers.d/gpusoak.conf" "$far/sysusers.d/" && mount --bind "$far/sysusers.d" /usr/lib/sysusers.d
  if [ -d /run/systemd ]; then mount -t tmpfs none /run/systemd; fi  # systemctl: not this machine
  for how in systemd-sysusers useradd; do
    if getent passwd gpusoak >/dev/null; then userdel gpusoak; fi
    if getent group gpusoak >/dev/null; then groupdel gpusoak; fi
    path=$PATH
    if [ "$how" = useradd ]; then path=$far/no-sysusers; fi
    PATH=$path "$control/postinst" configure "" || fail "postinst configure ($how)"
    PATH=$path "$control/postinst" configure 0.0.1 || fail "postinst configure as an upgrade ($how)"
    entry=$(getent passwd gpusoak) || fail "postinst ($how) made no gpusoak user"
    case $entry in *:/var/lib/gpusoak:*nologin) ;; *) fail "gpusoak user ($how): $entry" ;; esac
    groups=" $(id -nG gpusoak) "
    for group in render video; do
      case $groups in *" $group "*) ;; *) fail "gpusoak ($how) is in$groups, not in $group" ;; esac
    done
  done
  "$control/prerm" remove && "$control/postrm" remove && "$control/postrm" purge || fail "prerm/postrm"
' || fail "maintainer scripts"

mkdir "$far/run" && cd "$far/run"
unset GPUSOAK_PLANS_DIR
"$root/usr/bin/gpusoak" soak smoke --time-scale 0.05 --db runs.db >out.txt 2>&1 || { cat out.txt; fail "smoke from the package"; }
grep -Eq "^run r-[^:]+: passed" out.txt || { cat out.txt; fail "the smoke verdict is not passed"; }
"$root/usr/bin/gpusoakd" --help >/dev/null 2>&1 || fail "the packaged gpusoakd does not start"

if [ "$check_strings" = 1 ]; then
  for program in gpusoak gpusoakd; do
    for path in "$source_dir" "$build_dir"; do
      if grep -qF "$path" "$root/usr/bin/$program"; then
        strings "$root/usr/bin/$program" | grep -F "$path" | head -5
        fail "the packaged $program carries the path $path"
      fi
    done
  done
fi
echo "deb package: $(basename "$deb") installs, runs smoke from $far (passed), $(($(date +%s) - start)) s in all"
