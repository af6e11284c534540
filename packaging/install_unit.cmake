# Run by `cmake --install` and cpack (packaging/CMakeLists.txt): installs the systemd unit with
# ExecStart naming PREFIX/bin/gpusoakd and EnvironmentFile naming the settings file, and the
# settings file itself, for the prefix of this install. Settings go where GNUInstallDirs puts
# SYSCONFDIR: /etc for prefix /usr (the .deb), PREFIX/etc otherwise (/usr/local/etc).
# DESTDIR (cpack's staging folder) is added by file(INSTALL).
set(prefix "${CMAKE_INSTALL_PREFIX}")
# The prefix lands inside the unit's `sh -c '...'` line, which systemd and sh each expand.
if(NOT prefix MATCHES "^/[A-Za-z0-9/._+-]*$")
  message(FATAL_ERROR "install prefix '${prefix}': the systemd unit can name only an absolute path of letters, "
                      "digits and / . _ + -; install to such a prefix (e.g. /usr/local, /opt/gpusoak)")
endif()
string(REGEX REPLACE "/+$" "" prefix "${prefix}")
if(prefix STREQUAL "/usr")
  set(sysconf /etc)
else()
  set(sysconf "${prefix}/etc")
endif()

# A staging folder per destination: two installs at once (ctest runs the install and the .deb
# tests side by side) must not write each other's files.
string(MD5 destination "$ENV{DESTDIR}|${prefix}")
set(staging "${gpusoak_unit_staging}/${destination}")

file(READ "${gpusoak_unit_source}" unit)
# The unit in the source tree is written for prefix /usr/local; each path it must change is
# checked, so editing it there cannot leave a stale path here.
foreach(path "exec /usr/local/bin/gpusoakd " "EnvironmentFile=-/etc/default/gpusoakd")
  string(FIND "${unit}" "${path}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${gpusoak_unit_source} no longer has '${path}': update packaging/install_unit.cmake")
  endif()
endforeach()
string(REPLACE "/usr/local/bin/gpusoakd" "${prefix}/bin/gpusoakd" unit "${unit}")
string(REPLACE "/etc/default/gpusoakd" "${sysconf}/default/gpusoakd" unit "${unit}")
file(WRITE "${staging}/gpusoakd.service" "${unit}")
file(INSTALL DESTINATION "${prefix}/lib/systemd/system" TYPE FILE FILES "${staging}/gpusoakd.service")

# The settings file's comments name where it lives.
file(READ "${gpusoak_default_source}" settings)
string(REPLACE "/etc/default/gpusoakd" "${sysconf}/default/gpusoakd" settings "${settings}")
file(WRITE "${staging}/gpusoakd" "${settings}")
file(INSTALL DESTINATION "${sysconf}/default" TYPE FILE FILES "${staging}/gpusoakd")
