#!/usr/bin/env bash
# Installs the Debian packages `npm test` needs besides npm's (npm runs this as `pretest`):
# spin (the model checker for spec/cell.pml), gcc and tcc (which compile its verifiers).
# Does nothing when they are present; says what to install when it cannot install them.
set -euo pipefail
missing=()
command -v spin >/dev/null || missing+=(spin)
command -v gcc >/dev/null || missing+=(gcc)
command -v tcc >/dev/null || missing+=(tcc)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "npm test needs the Debian packages: ${missing[*]}; installing them with apt-get" >&2
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "cannot install as $(id -un): run 'sudo apt-get install -y ${missing[*]}', then npm test again" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "no apt-get here: install ${missing[*]} with this system's package manager, then npm test again" >&2
  exit 1
fi
"${run[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -qq "${missing[@]}"
