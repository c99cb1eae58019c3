#!/bin/sh
# run-example.sh [--xvfb] (--missing WHAT | PROGRAM [ARG…])
#
# Runs an example as a test of the `examples` suite.  Anything the example
# needs but that is not there is a skip (exit 77), not a failure: gtk4 or an
# interpreter missing at configure time (--missing), or, with --xvfb, the
# X server and tools to run a GTK program headless.
set -u

xvfb=no
if [ "${1-}" = "--xvfb" ]; then
  xvfb=yes
  shift
fi

if [ "${1-}" = "--missing" ]; then
  echo "SKIP: ${2-a dependency} was not found when the build was configured"
  exit 77
fi

if [ "$xvfb" = "yes" ]; then
  for tool in xvfb-run Xvfb xauth; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "SKIP: $tool is not installed (Debian: xvfb, xauth)"
      exit 77
    fi
  done
  # The default screen is 8 bits deep: ask for true colour, or the
  # screenshot comes out in a palette.
  # A private session bus, when there is one to start, keeps GtkApplication
  # quiet and away from the user's session.
  if command -v dbus-run-session >/dev/null 2>&1; then
    set -- dbus-run-session -- "$@"
  fi
  exec xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" "$@"
fi

exec "$@"
