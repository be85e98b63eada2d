#!/usr/bin/env bash
# Makes TLS files for a cluster (docs/CLUSTER.md, TLS): the cluster's CA, once, and a certificate
# for a node that serves at the given addresses, signed by that CA.
#   scripts/make_cluster_certs.sh DIR [ADDRESS...]      (default: 127.0.0.1 localhost)
# Writes DIR/ca.crt and DIR/ca.key (kept if present: every node of one cluster shares the CA),
# DIR/node.crt and DIR/node.key (mode 0600). Then, on that node:
#   ray start ... --tls-cert=DIR/node.crt --tls-key=DIR/node.key --tls-ca=DIR/ca.crt
# or for drivers: RAY_USE_TLS=1 RAY_TLS_SERVER_CERT=DIR/node.crt RAY_TLS_SERVER_KEY=DIR/node.key
# RAY_TLS_CA_CERT=DIR/ca.crt. Each address is listed as an IP entry and, because Cap'n Proto 0.9's
# TLS matches server names as DNS names only, as a DNS entry too.
set -euo pipefail

if [ $# -lt 1 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
dir=$1
shift
addresses=("$@")
[ ${#addresses[@]} -gt 0 ] || addresses=(127.0.0.1 localhost)
mkdir -p "$dir"
umask 077

if [ ! -f "$dir/ca.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=libray cluster CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
fi

names=()
for a in "${addresses[@]}"; do
  if [[ $a =~ ^[0-9.]+$ ]]; then names+=("IP:$a" "DNS:$a"); else names+=("DNS:$a"); fi
done
san=$(IFS=,; echo "${names[*]}")

openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=libray node ${addresses[0]}" -keyout "$dir/node.key" -out "$dir/node.csr" 2>/dev/null
openssl x509 -req -in "$dir/node.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 3650 -extfile <(printf 'subjectAltName=%s\n' "$san") -out "$dir/node.crt" 2>/dev/null
rm -f "$dir/node.csr"
echo "$dir/node.crt ($san), signed by $dir/ca.crt"
