#!/bin/sh
# Real peers the tests drive, from Debian's packages: installed when missing (as root, with apt),
# otherwise named so the person running `npm test` knows what to install. Run by scripts/test.sh,
# so `npm test` on a fresh Debian machine needs nothing else.
set -eu

need=""
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v oathtool >/dev/null 2>&1 || need="$need oathtool"
# delv (BIND): a real DNSSEC validator our verdicts are compared with.
command -v delv >/dev/null 2>&1 || need="$need bind9-dnsutils"
# swaks: a real SMTP client for the report intake over STARTTLS; it speaks TLS through
# Net::SSLeay, which is only a Recommends of the package (skipped below).
command -v swaks >/dev/null 2>&1 || need="$need swaks"
perl -MNet::SSLeay -e 1 >/dev/null 2>&1 || need="$need libnet-ssleay-perl"
# Dovecot: a real IMAP server (implicit TLS and STARTTLS) for the report mailbox intake.
[ -x /usr/sbin/dovecot ] || need="$need dovecot-imapd"

[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "mailwarden: installing test peers:$need"
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
else
  echo "mailwarden: the tests need these Debian packages:$need" >&2
  echo "  Install them (sudo apt-get install$need) and run npm test again." >&2
  exit 1
fi
