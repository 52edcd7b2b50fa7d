#!/usr/bin/env bash
# Makes the throw-away TLS material the tests use, in DIR (default build/test-certs):
#   ca.pem                 a test CA (its key ca-key.pem)
#   node.pem, node-key.pem a node certificate from it: SAN localhost, 127.0.0.1, ::1;
#                          usable as server and as client certificate (nodes present it
#                          to each other)
#   named.pem, named-key.pem     a node certificate from it naming only DNS:localhost
#                          (no IP address), for hostname checks
#   client.pem, client-key.pem   a client certificate from the same CA
#   rogue-ca.pem, rogue.pem, rogue-key.pem   another CA and a node certificate from it,
#                          with the same names: what a stranger would present
# Generated on each clean build (nothing secret is committed); needs the openssl CLI.
# Usage: scripts/make-test-certs.sh [DIR]
set -euo pipefail
dir=${1:-build/test-certs}
if [[ -s "$dir/rogue-key.pem" ]]; then exit 0; fi
mkdir -p "$dir"
cd "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {  # name subject
    key "$1-key.pem"
    openssl req -x509 -new -key "$1-key.pem" -subj "/CN=$2" -days 3650 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem" 2>/dev/null
}

leaf() {  # name subject ca extensions
    key "$1-key.pem"
    openssl req -new -key "$1-key.pem" -subj "/CN=$2" -out "$tmp/$1.csr" 2>/dev/null
    printf '%s\n' "$4" > "$tmp/$1.ext"
    openssl x509 -req -in "$tmp/$1.csr" -CA "$3.pem" -CAkey "$3-key.pem" -CAcreateserial \
        -CAserial "$tmp/$3.srl" -days 3650 -sha256 -extfile "$tmp/$1.ext" -out "$1.pem" 2>/dev/null
}

node_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'
client_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'

ca ca "BlockCache test CA"
leaf node "blockcache node" ca "$node_ext"
leaf named "blockcache node" ca "${node_ext/,IP:127.0.0.1,IP:::1/}"
leaf client "blockcache client" ca "$client_ext"
ca rogue-ca "Somebody else's CA"
leaf rogue "blockcache node" rogue-ca "$node_ext"
echo "test certificates in $dir"
