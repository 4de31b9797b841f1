# fake-containerd in a container, and a demo of real crictl and ctr against it (docker-compose.yml).
#   docker compose up --build     the server, then the demo (demo/demo.sh) against its socket
# Targets: server (Node, the built package, a non-root user, the socket on a volume at
# /run/fake-containerd) and demo (crictl from its release archive, ctr from Debian's containerd).

# The package as npm packs it, built from this checkout.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm pack --ignore-scripts --pack-destination /tmp && mv /tmp/fake-containerd-*.tgz /tmp/fake-containerd.tgz

FROM node:20-bookworm-slim AS server
COPY --from=build /tmp/fake-containerd.tgz /tmp/
RUN npm install --global --no-audit --no-fund /tmp/fake-containerd.tgz && rm /tmp/fake-containerd.tgz \
  && mkdir -p /run/fake-containerd /tmp/fake-containerd-demo && chown node:node /run/fake-containerd /tmp/fake-containerd-demo
# node (uid 1000) is the node image's own unprivileged user; the named volumes take these
# directories' owner when they are first mounted.
USER node
VOLUME ["/run/fake-containerd", "/tmp/fake-containerd-demo"]
ENTRYPOINT ["fake-containerd", "--socket", "/run/fake-containerd/containerd.sock"]
HEALTHCHECK --interval=1s --timeout=2s --retries=30 CMD ["test", "-S", "/run/fake-containerd/containerd.sock"]

FROM debian:bookworm-slim AS demo
ARG CRICTL_VERSION=v1.29.0
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl containerd \
  && rm -rf /var/lib/apt/lists/* \
  && curl -fsSL "https://github.com/kubernetes-sigs/cri-tools/releases/download/${CRICTL_VERSION}/crictl-${CRICTL_VERSION}-linux-amd64.tar.gz" \
    | tar -xz -C /usr/local/bin crictl
WORKDIR /demo
COPY demo/demo.sh demo/
COPY fixtures/pod.json fixtures/container.json fixtures/
ENV CONTAINER_RUNTIME_ENDPOINT=unix:///run/fake-containerd/containerd.sock \
    CONTAINERD_ADDRESS=/run/fake-containerd/containerd.sock
CMD ["sh", "demo/demo.sh"]
