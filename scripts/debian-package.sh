#!/usr/bin/env bash
# Installs a Debian package once, when a file it provides is missing:
#   bash scripts/debian-package.sh PACKAGE FILE
# Uses sudo only when not running as root; updates the package lists only if the first install
# fails. The browser tests (chromium), the evaluation and the training benchmark (the
# documentation packages served as test sites) call it.
set -euo pipefail
package="$1" file="$2"
log() { printf '[debian-package] %s\n' "$*" >&2; }
[ -e "$file" ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "$file is missing and neither root nor sudo is available: install Debian's $package"; exit 1; }
  SUDO=sudo
fi
log "installing $package"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$package"; then
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$package"
fi
[ -e "$file" ] || { log "$file is still missing after installing $package"; exit 1; }
