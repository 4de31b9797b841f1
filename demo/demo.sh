#!/bin/sh
# The demo: real crictl and ctr against fake-containerd. It needs crictl and ctr on the PATH and the
# two variables the server prints when it starts:
#   CONTAINER_RUNTIME_ENDPOINT=unix:///…/containerd.sock   (crictl)
#   CONTAINERD_ADDRESS=/…/containerd.sock                  (ctr)
# FIXTURES names the directory with pod.json and container.json (default: the package's fixtures/).
# docker compose up runs it in the demo service; demo/run-local.sh runs it against a local server.
set -eu
: "${CONTAINER_RUNTIME_ENDPOINT:?set it to the server's unix:// address}"
: "${CONTAINERD_ADDRESS:?set it to the server's socket path}"
FIXTURES=${FIXTURES:-$(cd "$(dirname "$0")/../fixtures" && pwd)}
export CONTAINER_RUNTIME_ENDPOINT CONTAINERD_ADDRESS
# Without a crictl.yaml, the variables are crictl's whole configuration (and it need not say so).
export CRI_CONFIG_FILE="${CRI_CONFIG_FILE:-/dev/null}"
step() { printf '\n$ %s\n' "$*"; "$@"; }

step crictl version
step crictl pull busybox
POD=$(crictl runp "$FIXTURES/pod.json")
echo "pod $POD"
CTR=$(crictl create "$POD" "$FIXTURES/container.json" "$FIXTURES/pod.json")
step crictl start "$CTR"
step crictl ps -a
step crictl logs "$CTR"
crictl logs "$CTR" | grep -q 'hello from fake-containerd' || { echo "demo: the container's log lacks its line" >&2; exit 1; }

# containerd's own API sees what CRI made, in namespace k8s.io.
step ctr version
step ctr -n k8s.io containers ls
step ctr -n k8s.io tasks ls
step ctr -n k8s.io tasks kill -s SIGKILL "$CTR"
i=0
until crictl inspect -o go-template --template '{{.status.state}} {{.status.exitCode}}' "$CTR" | grep -q '^CONTAINER_EXITED 137$'; do
  i=$((i + 1))
  [ "$i" -lt 50 ] || { echo "demo: the container did not exit with 137 after ctr's SIGKILL" >&2; exit 1; }
  sleep 0.1
done
step crictl ps -a

step crictl stopp "$POD"
step crictl rmp "$POD"
printf '\ndemo: ok\n'
