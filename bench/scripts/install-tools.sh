#!/usr/bin/env bash
# Installs what make load measures with, where it is absent: wrk (the
# closed-model load), Node.js (the bare Node.js signer beside ours) and
# openssl (the machine's own signing limit), from Debian's packages. It
# changes nothing where they are installed; without root or apt-get it says
# what is missing, and the load tool runs without it.
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v node >/dev/null || missing+=(nodejs)
command -v openssl >/dev/null || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	echo "make load: not installed: ${missing[*]} (apt-get install ${missing[*]}); measuring without" >&2
	exit 0
fi
echo "make load: installing ${missing[*]}" >&2
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
	{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null; }
