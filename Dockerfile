# syntax=docker/dockerfile:1
# The production image of the auth service. Build, run, configure and upgrade it: docs/container.md.
#   docker build -t wechat-auth .
#   docker run --rm -p 3000:3000 --env-file prod.env --read-only wechat-auth
# Configuration and secrets come from the environment at run time: none is baked in (.dockerignore is an allowlist).

# ---- manifest: what the install depends on, i.e. package.json without its "scripts" ----
# Editing a script must not reinstall every dependency: the deps stage copies this stripped package.json, and an
# unchanged copy keeps its cached layers.
FROM node:20-bookworm-slim AS manifest
WORKDIR /app
COPY package.json package-lock.json ./
RUN node -e "const f='package.json', p=JSON.parse(require('fs').readFileSync(f)); delete p.scripts; \
      require('fs').writeFileSync(f, JSON.stringify(p, null, 2) + '\n')"

# ---- deps: every dependency, dev ones included (the build needs @nestjs/cli and typescript) ----
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 compiles its native addon when no prebuilt binary can be downloaded. These tools stay in the
# build stages: the runtime stage starts again from the slim base.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY --from=manifest /app/package.json /app/package-lock.json ./
# The committed lockfile is in sync with package.json: installs are reproducible. npm's download cache is a
# build cache mount: a lockfile change downloads only what changed, and the cache stays out of every layer.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --no-audit --no-fund

# ---- prod-deps: the runtime's node_modules; depends on the lockfile only, so a code change reuses it ----
FROM deps AS prod-deps
# --omit=optional as well: typescript and ts-node are typeorm's optional peers (for its CLI on .ts files),
# "devOptional" in the lockfile, which --omit=dev alone keeps (24 MB). No runtime dependency is optional today;
# the image test fails if the lockfile gains one, since this line would drop it.
# Then what Node never loads: better-sqlite3's build leftovers (SQLite's sources and object files when it was
# compiled here; only build/Release/better_sqlite3.node is loaded), source maps, TypeScript sources and
# declarations, Markdown (licence files stay), the packages' own tests and typeorm's browser build.
# The last line proves the native addon and every direct dependency still load.
RUN npm prune --omit=dev --omit=optional --no-audit --no-fund \
 && cd /app/node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src \
 && mkdir -p build/Release && mv /tmp/better_sqlite3.node build/Release/ \
 && cd /app/node_modules \
 && rm -rf typeorm/browser ./[!@]*/test ./[!@]*/tests ./[!@]*/__tests__ ./@*/*/test ./@*/*/tests ./@*/*/__tests__ \
 && find . -type f \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \
      -o \( -iname '*.md' ! -iname 'licen[cs]e*' ! -iname 'notice*' \) \) -delete \
 && cd /app \
 && node -e "new (require('better-sqlite3'))(':memory:').close(); \
      for (const d of Object.keys(require('./package.json').dependencies)) require(d)"

# ---- build: the server only (`npm run build` also builds the mini-program SDK, which has its own build) ----
FROM deps AS build
COPY package.json tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
# Source maps are dropped: nothing loads them (no --enable-source-maps) and they would double dist's weight.
RUN npm run build:server \
 && find dist -name '*.map' -delete

# ---- runtime: the slim base + production node_modules + dist; no compiler, no dev dependency, no source ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
# Owned by root and not writable by the service user: the app cannot rewrite its own code.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
# The only place the app writes, and only with SQLite or without secrets (development): the database file and
# the generated development secrets. With MySQL/MariaDB and secrets from the environment nothing is written, so
# the root filesystem can be read-only (mount a tmpfs or a volume here when SQLite is used).
RUN mkdir -p /app/data && chown 1000:1000 /app/data && chmod 0700 /app/data
# uid 1000 is the base image's `node` user; numeric so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
# Liveness only (the process answers); readiness with its dependencies is /health/ready.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: SIGTERM reaches node itself, which drains (SHUTDOWN_GRACE_MS, 9 s by default) and exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
