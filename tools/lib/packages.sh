# Sourced by tools/dev.sh and bench/run.sh.
# ensure_packages PKG...: installs those of the Debian packages that are missing, with apt-get,
# through sudo when not root. Prints what it installs on stderr; does nothing when all are there.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "arbor: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  # Debian's postinst scripts start the services they install (openssh-server would leave an
  # sshd on 0.0.0.0:22). A policy-rc.d that exits 101 forbids that. Ours goes away afterwards,
  # also when apt-get fails or we are interrupted; one the machine already has is left alone.
  local policy=/usr/sbin/policy-rc.d own_policy=false
  if [ ! -e "$policy" ]; then
    own_policy=true
    # Expanded now on purpose: the trap may run after this function's locals are gone.
    # shellcheck disable=SC2064
    trap "${sudo[*]} rm -f $policy" EXIT
    # shellcheck disable=SC2064
    trap "${sudo[*]} rm -f $policy; exit 130" INT TERM HUP
    printf '#!/bin/sh\n# arbor: no services start while packages install\nexit 101\n' |
      "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
  fi
  local rc=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends "${missing[@]}" >&2 || rc=$?
  if $own_policy; then
    "${sudo[@]}" rm -f "$policy"
    trap - EXIT INT TERM HUP
  fi
  return "$rc"
}
