# syntax=docker/dockerfile:1
# The image deploy/ runs, built from this repository:
#   docker build -t ghcr.io/lbguard/lbguard:v0.1.0 .
# NODE_MAJOR is the Node.js the tests run on (.ci/run, package.json engines); test/deploy checks both.
ARG NODE_MAJOR=20

# Build: compile TypeScript with dev dependencies, then keep production dependencies only.
FROM node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

# Run: distroless Node.js (no shell, no package manager), numeric non-root user.
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
USER 65532:65532
EXPOSE 8443 9090
# a smaller young generation bounds the resident size under load at no measurable CPU cost; no allocation-site
# pretenuring keeps each review's garbage out of the old generation; no memory reducer: its idle-time collections
# discard the optimised code, and the next reviews queue behind its recompilation (BENCHMARKS.md "Tail latency")
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=8", "--no-allocation-site-pretenuring", "--no-memory-reducer", "/app/dist/src/cli/main.js", "serve"]
# the paths deploy/base/deployment.yaml mounts (its args replace these)
CMD ["--policy", "/etc/lbguard/policy/policy.yaml", "--cert-dir", "/etc/lbguard/tls"]
