#!/bin/sh
# Makes the admission webhook's TLS material without cert-manager: a CA and a serving certificate for
# ferry-webhook.<namespace>.svc (openssl), stored as the kubernetes.io/tls Secret ferry-webhook-tls, and the
# CA put into the MutatingWebhookConfiguration's caBundle. Run it after `kubectl apply -k` (the webhook's
# pods start once the Secret exists). Run it again to rotate: the webhook reloads the files without a restart.
#   deploy/webhook-certificate.sh [namespace] [days]
set -eu
namespace="${1:-ferry-system}"
days="${2:-365}"
service="ferry-webhook"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj "/CN=ferry-webhook-ca" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$dir/tls.key" -out "$dir/tls.csr" -subj "/CN=$service.$namespace.svc" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local\nextendedKeyUsage=serverAuth\n' \
  "$service" "$service" "$namespace" "$service" "$namespace" "$service" "$namespace" > "$dir/ext"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days "$days" \
  -extfile "$dir/ext" -out "$dir/tls.crt" 2>/dev/null

kubectl -n "$namespace" create secret tls ferry-webhook-tls --cert="$dir/tls.crt" --key="$dir/tls.key" \
  --dry-run=client -o yaml | kubectl apply -f -
ca_bundle="$(base64 < "$dir/ca.crt" | tr -d '\n')"
kubectl patch mutatingwebhookconfiguration ferry-webhook --type=json \
  -p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$ca_bundle\"}]"
echo "ferry-webhook-tls and the caBundle of ferry-webhook updated (valid $days days)"
