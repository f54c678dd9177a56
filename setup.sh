#!/bin/sh
# Install packager, then run the command given with that installation's programs first on PATH:
#
#   ./setup.sh packager build stories/        install packager, build the sample stories
#   ./setup.sh --test python3 -m pytest       install it with the test dependencies, run the tests
#
# Inside an active virtual environment it installs there. Otherwise it installs into .venv beside
# this script, which it creates: a distribution's own python3 (Debian 12, Ubuntu 24.04) is
# "externally managed" (PEP 668) and refuses `pip install` outside a virtual environment.
# An install is done again only when pyproject.toml or the extras asked for change.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
extras=""
if [ "${1:-}" = "--test" ]; then
  extras="[test]"
  shift
fi

fail() {
  echo "error: $*" >&2
  exit 1
}

command -v "$python" >/dev/null 2>&1 || fail "no $python on PATH: packager needs Python 3.11 or newer"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || fail "packager needs Python 3.11 or newer; $python is $("$python" -c 'import platform; print(platform.python_version())')"

if "$python" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  venv=$("$python" -c 'import sys; print(sys.prefix)')  # the active virtual environment
else
  venv="$here/.venv"
  if ! "$venv/bin/python3" -m pip --version >/dev/null 2>&1; then
    "$python" -c 'import ensurepip' 2>/dev/null \
      || fail "$python cannot create a virtual environment: apt-get install python3-venv"
    echo "setup: creating $venv" >&2
    "$python" -m venv --clear "$venv"
  fi
fi

# The venv's interpreter by its own name, so a venv made by another python3 is used as it is.
venv_python="$venv/bin/python3"
[ -x "$venv_python" ] || venv_python="$venv/bin/python"
# A stamp per extra, holding this folder and pyproject.toml's checksum: installed once, done again
# only when either changes (or packager is no longer importable there).
wanted="$here $(cksum < "$here/pyproject.toml")"
stamp="$venv/.packager-setup${extras:+-test}"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || ! "$venv_python" -I -c 'import packager' 2>/dev/null; then
  echo "setup: installing packager$extras into $venv" >&2
  "$venv_python" -m pip install --quiet --disable-pip-version-check --editable "$here$extras"
  printf '%s\n' "$wanted" > "$venv/.packager-setup"
  [ -z "$extras" ] || printf '%s\n' "$wanted" > "$stamp"
fi

if [ $# -eq 0 ]; then
  echo "setup: packager is installed in $venv; run commands with ./setup.sh COMMAND, or first: . $venv/bin/activate" >&2
  exit 0
fi
PATH="$venv/bin:$PATH"
VIRTUAL_ENV="$venv"
export PATH VIRTUAL_ENV
exec "$@"
