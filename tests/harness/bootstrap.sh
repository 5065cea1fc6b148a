# shellcheck shell=bash
# bootstrap.sh — what tests/run-all.sh and deploy/quickstart.sh share: the
# system packages citywatch needs, and an idempotent meson setup.
#
# Sourced, so it sets no shell options of its own; functions return non-zero
# on failure.

# Everything a fresh Debian 12 machine lacks to build, test and run citywatch.
# (python3, which meson and run-all.sh use, comes with meson.)
CW_PACKAGES=(
  build-essential meson ninja-build pkg-config
  libglib2.0-dev libjson-glib-dev libuv1-dev libpq-dev libsodium-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  postgresql-15 postgresql-client-15
  ffmpeg
  libgstrtspserver-1.0-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools
  vlc-bin vlc-plugin-base rtsp-server-perl iproute2
  clang-format
)

# cw_ensure_packages: installs those of CW_PACKAGES that are missing. Asks
# dpkg first, so a machine that has everything never touches apt (fast,
# and works offline).
cw_ensure_packages() {
  local missing=() p sudo=()
  for p in "${CW_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
      missing+=("$p")
    fi
  done
  [ "${#missing[@]}" -gt 0 ] || return 0

  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "bootstrap: missing packages and not root: ${missing[*]}" >&2
      return 1
    fi
  fi
  echo "bootstrap: installing ${missing[*]}" >&2
  # Without a tty apt must not ask; postgresql's post-install scripts start a
  # system cluster, which does not matter to us (our servers use their own
  # socket folders and no TCP).
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends "${missing[@]}"; then
    # The usual cause on a fresh machine: no package lists yet, or stale
    # ones naming files the mirror has dropped. Refresh once and retry.
    echo "bootstrap: install failed; running apt-get update and retrying" >&2
    "${sudo[@]}" apt-get update || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
      --no-install-recommends "${missing[@]}" || return 1
  fi
}

# cw_meson_setup BUILDDIR [MESON OPTIONS...]: configures BUILDDIR with those
# options whether it is new, configured with other options, or left broken
# (an interrupted setup, another meson version).
cw_meson_setup() {
  local dir=${1:?usage: cw_meson_setup BUILDDIR [OPTIONS...]}
  shift
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$dir" "$@" ||
      meson setup --wipe "$dir" "$@"
  else
    # Not a usable build folder (or none): build folders hold nothing that
    # cannot be made again.
    rm -rf -- "$dir"
    meson setup "$dir" "$@"
  fi
}
