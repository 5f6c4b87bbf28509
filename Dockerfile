# syntax=docker/dockerfile:1
#
# kzymy: one image, either role (docs/operations/deploy.md):
#   node dist/src/main.js --role all      the default: everything in one container
#   node dist/src/main.js --role smtp     Haraka, the public MX (compose service kzymy-smtp)
#   node dist/src/main.js --role daemon   IMAP, POP3, web, sweeper (compose service kzymy-daemon)
#
# Build from the repository root:  docker build -t kzymy .
#
# The base image is pinned by tag. In production pin it by digest too, so that a rebuild cannot
# silently pick up another image under the same tag, and move the digest on purpose:
#   docker buildx imagetools inspect node:20-bookworm-slim     → sha256:…
#   docker build --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:… -t kzymy .
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: exactly what CI does (.ci/run): `npm ci`, then `npm run build` (tsc -p tsconfig.json)
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency install script is needed to compile kzymy. The ones in the tree
# build native add-ons: optional ones of code paths kzymy does not use (dtrace-provider,
# cbor-extract, msgpackr-extract, modern-syslog: each falls back to JavaScript), and
# better-sqlite3, which the deps stage below builds for the image.
RUN npm ci --no-audit --no-fund --ignore-scripts
# The context is what .dockerignore lets in: the whole TypeScript tree tsconfig.json includes
# (src, haraka-plugins, test, bench — whichever exist), so tsc type-checks what CI type-checks.
# Only dist/src and dist/haraka-plugins go into the image.
COPY . .
RUN npm run build

# ---- runtime dependencies only (no TypeScript, no test tools)
FROM ${NODE_IMAGE} AS deps
# better-sqlite3 (the default store engine) is the one native add-on kzymy runs: it is compiled
# here against the image's own Node headers (/usr/local/include/node), with no download, and the
# compiler stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && npm rebuild better-sqlite3 --build-from-source --nodedir=/usr/local \
 && npm cache clean --force

# ---- the image
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM to node and reaps Haraka's and openssl's children.
# openssl: the self-signed development pair when no certificate is configured (src/tls/material.ts).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini openssl \
 && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged uid, so volume and secret ownership can be set from the host.
RUN groupadd --system --gid 10001 kzymy \
 && useradd --system --uid 10001 --gid kzymy --home-dir /var/lib/kzymy --no-create-home \
      --shell /usr/sbin/nologin kzymy \
 && install -d -o kzymy -g kzymy -m 0700 /var/lib/kzymy
WORKDIR /app
ENV NODE_ENV=production \
    KZYMY_DATA_DIR=/var/lib/kzymy
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/haraka-plugins ./dist/haraka-plugins
# Files the web server reads at start: its stylesheet and scripts, and the signup guide it renders.
COPY src/web/static ./src/web/static
COPY docs/signup.md ./docs/signup.md
COPY config/kzymy.example.yaml ./config/kzymy.example.yaml
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/kzymy-entrypoint
USER 10001:10001
# SMTP 2525 (publish it as 25: no capability is needed inside), IMAP 1143/1993, POP3 1110/1995,
# web 8080, admin (/healthz, /metrics) 9465. Users reach IMAP, POP3 and web through Tor only.
EXPOSE 2525 1143 1993 1110 1995 8080 9465
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "dist/src/metrics/healthcheck.js", "9465"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/kzymy-entrypoint"]
CMD ["node", "dist/src/main.js", "--role", "all"]
