#!/usr/bin/env bash
# Install the programs `npm test` runs against (Debian; tested on Debian 12), so
# that no test skips for want of one: the same apt-get lines for CI (.ci/run) and
# for a developer. Run as root:
#
#   sudo bash scripts/install-test-deps.sh
#
# Only what is missing is installed; running it again changes nothing. The
# network tests (NAT lab, packet captures, the TCPMUX daemons) also need `npm
# test` itself to run as root. What skips without each program: README.md § Tests.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# system tools live in sbin directories, which a minimal PATH may lack
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:$PATH"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: run as root (sudo bash $0)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: needs apt-get (Debian or Ubuntu); elsewhere install the programs README.md § Tests lists" >&2
  exit 1
fi

# real parts, not mocks: tcpdump for the capture test; ip/iptables/ipset for
# the NAT lab (network namespaces; CI runs as root); coturn as the STUN server
# of the direct-path (WebRTC) tests
need=()
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ipset >/dev/null 2>&1 || need+=(ipset)
command -v sysctl >/dev/null 2>&1 || need+=(procps)
command -v turnserver >/dev/null 2>&1 || need+=(coturn)
# the adapters' interop tests: BIND 9 (named, tsig-keygen, nsupdate, dig) for
# DNS SRV and RFC 2136 updates; inetutils-inetd and xinetd for TCPMUX; nc and
# socat as ordinary TCP clients
if ! command -v xinetd >/dev/null 2>&1; then
  # Debian's xinetd and inetutils-inetd conflict (both are "the" inetd), and the
  # tests need both: install xinetd, keep its binary, then let inetutils-inetd
  # replace the package (xinetd's libraries stay installed). Done first, so that
  # inetutils-inetd is (re)installed below if this step removed it.
  apt-get update -qq
  apt-get install -y -qq xinetd >/dev/null
  install -m 0755 /usr/sbin/xinetd /usr/local/sbin/xinetd
fi
command -v named >/dev/null 2>&1 || need+=(bind9 bind9-utils)
command -v dig >/dev/null 2>&1 || need+=(bind9-dnsutils)
command -v inetutils-inetd >/dev/null 2>&1 || need+=(inetutils-inetd)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v nc >/dev/null 2>&1 || need+=(netcat-openbsd)
# curl through `fara connect`; nmap -sV against Fara ports (test/unobservable-*.test.ts)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v nmap >/dev/null 2>&1 || need+=(nmap)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
# the unobservable layer's vector generator (spec/vectors/generate-unobservable.py)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# the birthday punch's fault test drops a NAT's mappings (test/nat-punch-faults.test.ts)
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
# the CLI's ssh ProxyCommand test runs its own sshd on a random port
command -v sshd >/dev/null 2>&1 || need+=(openssh-server openssh-client)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "install-test-deps: all test programs present"
