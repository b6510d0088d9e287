#!/bin/sh
# Re-captures the real outputs in this folder (root, iproute2, iputils-ping, mtr-tiny, nft).
# Three network namespaces on one bridge, 192.168.4.0/24: "ryanrishi" (.200) carries a host
# route that sends traffic for "pve001" (.201) through the router (.1), which drops 15% of what
# it forwards; pve001 answers directly. The story's fault, on real kernels and tools.
set -eu
OUT=$(cd "$(dirname "$0")" && pwd)
S=cap$$
cleanup() { for n in a b r sw; do ip netns del $S$n 2>/dev/null || true; done; }
trap cleanup EXIT
for n in a b r sw; do ip netns add $S$n; ip -n $S$n link set lo up; done
ip -n ${S}sw link add br0 type bridge; ip -n ${S}sw link set br0 up
i=0
for n in a b r; do
  ip link add v$S$n type veth peer name p$S$n
  ip link set v$S$n netns $S$n; ip link set p$S$n netns ${S}sw
  ip -n ${S}sw link set p$S$n master br0 up
  ip -n $S$n link set v$S$n name eth0
  ip -n $S$n link set eth0 up
done
ip -n ${S}a addr add 192.168.4.200/24 dev eth0
ip -n ${S}b addr add 192.168.4.201/24 dev eth0
ip -n ${S}r addr add 192.168.4.1/24 dev eth0
ip netns exec ${S}r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
  net.ipv4.conf.eth0.send_redirects=0
ip -n ${S}a route add default via 192.168.4.1
ip -n ${S}b route add default via 192.168.4.1
ip -n ${S}a route add 192.168.4.201 via 192.168.4.1
ip netns exec ${S}r nft add table inet t
ip netns exec ${S}r nft 'add chain inet t forward { type filter hook forward priority 0; }'
ip netns exec ${S}r nft add rule inet t forward numgen random mod 100 \< 15 drop
run() { ns=$1; shift; f=$1; shift; ip netns exec $ns "$@" > "$OUT/$f" 2>&1 || true; }
run ${S}a routed_ip-route-get.txt ip route get 192.168.4.201
run ${S}a routed_ip-route.txt ip route
run ${S}a routed_ip-br-addr.txt ip -br addr
run ${S}b direct_ip-route-get.txt ip route get 192.168.4.200
run ${S}b direct_ip-route.txt ip route
run ${S}a routed_ping.txt ping -c 100 -i 0.05 192.168.4.201
run ${S}a routed_mtr.txt mtr --report --report-cycles 50 -i 0.1 -n 192.168.4.201
run ${S}b direct_mtr.txt mtr --report --report-cycles 50 -i 0.1 -n 192.168.4.200
# ICMP clean while corosync's UDP 5405 is dropped (the bed's fault): ping sees nothing.
ip -n ${S}a route del 192.168.4.201 via 192.168.4.1
ip netns exec ${S}b nft add table inet u
ip netns exec ${S}b nft 'add chain inet u input { type filter hook input priority 0; }'
ip netns exec ${S}b nft add rule inet u input udp dport 5405 numgen random mod 100 \< 15 drop
run ${S}a udp-dropped_ping.txt ping -c 100 -i 0.05 192.168.4.201
