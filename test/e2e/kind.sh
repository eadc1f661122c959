#!/usr/bin/env bash
# End-to-end run against a real cluster in kind (Kubernetes in Docker).
# What it adds over the unit and fake-API tests: a real kube-apiserver calling
# the webhook (caBundle, service DNS name, timeouts, matchConditions,
# services/status routing, namespaceSelector), real RBAC for the informers,
# MetalLB's real CRD, and the image built from the Dockerfile.
#
# Needs docker, kind and kubectl on PATH and network access to pull images and
# MetalLB's manifest. Without docker or kind it says so and exits 0 (skipped).
#   npm run test:e2e            KEEP=1 npm run test:e2e   (keep the cluster)
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in docker kind kubectl; do
  if ! command -v "$tool" >/dev/null 2>&1; then echo "e2e: skipped: $tool not found"; exit 0; fi
done
if ! docker info >/dev/null 2>&1; then echo "e2e: skipped: no Docker engine running"; exit 0; fi

CLUSTER=${CLUSTER:-lbguard-e2e}
IMAGE=lbguard:e2e
METALLB_VERSION=${METALLB_VERSION:-v0.14.9}
cleanup() { [ -n "${KEEP:-}" ] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

fail() { echo "e2e: FAIL: $*"; exit 1; }
expect_denied() { # expect_denied <pattern> <kubectl args…>
  local pattern=$1; shift
  local out
  if out=$(kubectl "$@" 2>&1); then fail "expected a denial for: kubectl $*"; fi
  echo "$out" | grep -q -- "$pattern" || fail "denial for 'kubectl $*' did not match '$pattern': $out"
  echo "ok: denied: $(echo "$out" | tail -1 | cut -c1-160)"
}

kind create cluster --name "$CLUSTER" --wait 120s
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

# MetalLB (its CRDs and controller, started with --lb-class=metallb as the example policy says)
kubectl apply -f "https://raw.githubusercontent.com/metallb/metallb/${METALLB_VERSION}/config/manifests/metallb-native.yaml"
kubectl -n metallb-system patch deployment controller --type=json \
  -p='[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--lb-class=metallb"}]'
kubectl -n metallb-system rollout status deployment/controller --timeout=180s

# lbguard from deploy/ with the image just built (test/e2e/overlay swaps the image)
kubectl apply -k test/e2e/overlay
kubectl -n lbguard-system wait --for=condition=complete job -l app.kubernetes.io/component=certs --timeout=180s
kubectl -n lbguard-system rollout status deployment/lbguard --timeout=180s

# 1. defaulting: a class-less Service in default gets MetalLB's class
kubectl create namespace shop
kubectl -n shop apply -f - <<YAML
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: LoadBalancer, ports: [{port: 80}]}
YAML
[ "$(kubectl -n shop get svc web -o jsonpath='{.spec.loadBalancerClass}')" = metallb ] || fail "class not defaulted"
echo "ok: loadBalancerClass defaulted to metallb"

# 2. pools: one over the control-plane VIP of the example policy is refused
expect_denied "overlaps 10.0.4.247" apply -f - <<YAML
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bad, namespace: metallb-system}
spec: {addresses: [10.0.4.240/29]}
YAML

# 3. kube-vip with services on and no class isolation is refused (example policy: kube-vip owns null, so use MetalLB's class)
expect_denied "lb_class_name is \"metallb\"" -n kube-system apply -f - <<YAML
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-vip-bad}
spec:
  selector: {matchLabels: {app: kube-vip-bad}}
  template:
    metadata: {labels: {app: kube-vip-bad}}
    spec:
      containers:
      - name: kube-vip
        image: ghcr.io/kube-vip/kube-vip:v1.2.3
        args: [manager]
        env:
        - {name: svc_enable, value: "true"}
        - {name: lb_class_only, value: "true"}
        - {name: lb_class_name, value: metallb}
YAML

# 4. a status write by MetalLB's identity on a kube-vip Service is refused (impersonation)
kubectl -n kube-system apply -f - <<YAML
apiVersion: v1
kind: Service
metadata: {name: kv}
spec: {type: LoadBalancer, ports: [{port: 443}]}
YAML
expect_denied "status writes from system:serviceaccount:metallb-system:controller" -n kube-system \
  --as=system:serviceaccount:metallb-system:controller patch svc kv --subresource=status --type=merge \
  -p '{"status":{"loadBalancer":{"ingress":[{"ip":"10.0.4.222"}]}}}'

echo "e2e: PASS"
