#!/usr/bin/env bash
# A node in a network namespace of its own (ip netns + a veth pair, 10.201.x.1 for the head in
# this namespace, 10.201.x.2 for the node): it joins the head across the link, runs a driver's
# task, its object is copied across; then the link goes down and the head holds the node dead.
# Needs root (CI is); skipped with the reason otherwise.
set -euo pipefail
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  echo "SKIPPED: network namespaces need root and iproute2"
  exit 0
fi
ray="$TEST_SRCDIR/libray/ray/cli/ray"
driver="$TEST_SRCDIR/libray/tests/cluster/netns_driver"
tag=$(( $$ % 200 + 20 ))          # distinct names and subnet per run
ns="raytest$tag"
host_if="rayh$tag"
node_if="rayn$tag"
head_ip="10.201.$tag.1"
node_ip="10.201.$tag.2"
tmp=$(mktemp -d /tmp/ray-netns-XXXXXX)
export TMPDIR="$tmp"
unset RAY_AUTH_TOKEN RAY_ADDRESS
export RAY_HEALTH_CHECK_PERIOD_MS=200 RAY_HEALTH_CHECK_FAILURE_THRESHOLD=5
cleanup() {
  "$ray" stop --force >/dev/null 2>&1 || true
  ip netns exec "$ns" "$ray" stop --force >/dev/null 2>&1 || true
  ip link del "$host_if" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$ns"
ip link add "$host_if" type veth peer name "$node_if"
ip link set "$node_if" netns "$ns"
ip addr add "$head_ip/24" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add "$node_ip/24" dev "$node_if"
ip netns exec "$ns" ip link set "$node_if" up
ip netns exec "$ns" ip link set lo up

out=$("$ray" start --head --port=0 --num-cpus=1 --node-ip-address="$head_ip" \
        --object-store-memory=64M)
address=$(echo "$out" | sed -n 's/^Cluster address: //p')
echo "head at $address"
node_out=$(ip netns exec "$ns" "$ray" start --address="$address" --num-cpus=1 \
             --node-ip-address="$node_ip" '--resources={"ns_box": 1}' --object-store-memory=64M)
node_id=$(echo "$node_out" | sed -n 's/^Started node \([0-9a-f]*\) .*/\1/p')
echo "node $node_id in $ns at $node_ip"
"$ray" status | tee "$tmp/status1"
grep -q "$node_id $node_ip alive" "$tmp/status1"

# A driver's task runs in the namespace, and its object comes back across the link.
"$driver" "$address" ns_box | tee "$tmp/driver"
grep -q "task ran on node $node_id; object copied" "$tmp/driver"

# Cut the link: the head holds the node dead (bounded wait on ray status, no timing assert).
ip link set "$host_if" down
for _ in $(seq 1 300); do
  "$ray" status > "$tmp/status2" || true
  if grep -q "$node_id $node_ip dead" "$tmp/status2"; then break; fi
  sleep 0.1
done
cat "$tmp/status2"
grep -q "$node_id $node_ip dead" "$tmp/status2"
echo PASS
