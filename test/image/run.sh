#!/usr/bin/env bash
# The container image test (docs/container.md): builds the Dockerfile with podman and checks the image as an operator
# would run it.
#   - contents: no dev dependency, no build tool, no test file, no .env, no private key; the app's layers weighed;
#   - development: /health/live, /docs, a sandbox login, /users/me, read-only root with a tmpfs on /app/data;
#   - production on this machine's MariaDB (own database) and Redis (own key prefix), host network: the compiled
#     migration CLI, migrations on start, a login against a fake WeChat on loopback, the compiled user-admin,
#     refusals of a weak secret and of the sandbox, read-only root without any tmpfs;
#   - non-root (uid 1000), HEALTHCHECK declared and passing, `podman stop` drains a login in flight and exits 0.
# Run as root (CI: .ci/run). Needs MariaDB at 127.0.0.1:3306 (root, empty password) and Redis at 127.0.0.1:6379,
# as the other MariaDB tier; installs podman and the stand-in base image through the shared script when missing.
# Environment: KEEP_IMAGE=1 keeps the built image (tag printed at the end); IMAGE_TEST_MYSQL / IMAGE_TEST_REDIS
# override the mysql client arguments and the Redis URL.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/test/image"
BASE_IMAGE=docker.io/library/node:20-bookworm-slim
RUN_ID="imgtest-$$-$(date +%s)"
IMAGE="localhost/wechat-auth-test:$RUN_ID"
DB_NAME="wa_image_${RUN_ID//-/_}"
REDIS_URL_HOST=${IMAGE_TEST_REDIS:-redis://127.0.0.1:6379}
REDIS_PREFIX="$RUN_ID:"
read -r -a MYSQL <<<"${IMAGE_TEST_MYSQL:--h127.0.0.1 -P3306 -uroot}"
# The budget for what this project adds to the base image (node_modules, dist, package.json); measured ~39 MB.
# Raise it on purpose, in this file, when a new runtime dependency needs it.
APP_LAYERS_BUDGET_MB=60
STOP_TIMEOUT_S=20

TMP=$(mktemp -d)
chmod 700 "$TMP"
FAKE_WECHAT_PID=
MOUNTED=
T0=$(date +%s)

log() { printf '\n--- [%3ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
ok() { printf '  ok   %s\n' "$*"; }
fail() {
  printf '  FAIL %s\n' "$*" >&2
  exit 1
}

cleanup() {
  local rc=$?
  set +e
  for c in $(podman ps -a --filter "name=^$RUN_ID-" --format '{{.Names}}' 2>/dev/null); do
    if ((rc != 0)); then
      echo "--- last log lines of $c" >&2
      podman logs "$c" 2>&1 | grep -v '"context":"Route' | tail -n 25 | cut -c1-400 >&2
    fi
    podman rm -f "$c" >/dev/null 2>&1
  done
  [ -n "$FAKE_WECHAT_PID" ] && kill "$FAKE_WECHAT_PID" 2>/dev/null
  [ -n "$MOUNTED" ] && podman image unmount "$IMAGE" >/dev/null 2>&1
  if [ "${KEEP_IMAGE:-0}" = 1 ]; then
    echo "image kept: $IMAGE"
  else
    podman rmi "$IMAGE" >/dev/null 2>&1
  fi
  mysql "${MYSQL[@]}" -e "DROP DATABASE IF EXISTS \`$DB_NAME\`" 2>/dev/null
  redis-cli -u "$REDIS_URL_HOST" --scan --pattern "$REDIS_PREFIX*" 2>/dev/null |
    xargs -r -n 100 redis-cli -u "$REDIS_URL_HOST" del >/dev/null 2>&1
  rm -rf "$TMP"
  if ((rc == 0)); then echo "image test passed in $(($(date +%s) - T0)) s"; else echo "image test FAILED" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# wait_http url seconds [container]: until the URL answers 200; fails early when the container has exited.
wait_http() {
  local deadline=$(($(date +%s) + $2))
  while (($(date +%s) < deadline)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 200 ] && return 0
    if [ -n "${3:-}" ] && [ "$(podman inspect -f '{{.State.Running}}' "$3" 2>/dev/null)" != true ]; then
      fail "$3 exited before $1 answered"
    fi
    sleep 0.3
  done
  fail "$1 did not answer 200 within $2 s"
}

# http METHOD URL [JSON] [BEARER]: prints the body, then the status on its own last line.
http() {
  local args=(-s -X "$1" --max-time 15 -w '\n%{http_code}' "$2")
  [ -n "${3:-}" ] && args+=(-H 'content-type: application/json' -d "$3")
  [ -n "${4:-}" ] && args+=(-H "authorization: Bearer $4")
  curl "${args[@]}"
}
status_of() { tail -n1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
json() { node -e 'const v=JSON.parse(require("fs").readFileSync(0,"utf8"))[process.argv[1]]; if (v===undefined) process.exit(1); console.log(v)' "$1"; }
expect_status() { # what response expected
  local got
  got=$(status_of "$2")
  [ "$got" = "$3" ] || fail "$1: HTTP $got, expected $3: $(body_of "$2" | cut -c1-300)"
  ok "$1: HTTP $got"
}

# run_app NAME [podman run options...] -- : starts a detached container of the image (host network, read-only root).
run_app() {
  local name="$RUN_ID-$1"
  shift
  podman run -d --name "$name" --network host --read-only --read-only-tmpfs=false "$@" "$IMAGE" \
    >"$TMP/$name.id" 2>"$TMP/$name.podman.log" || {
    cat "$TMP/$name.podman.log" >&2
    fail "podman run $name"
  }
}

# stop_and_check NAME: podman stop within STOP_TIMEOUT_S, exit code 0, the drain logged.
stop_and_check() {
  local name="$RUN_ID-$1" start end code
  start=$(date +%s%N)
  podman stop -t "$STOP_TIMEOUT_S" "$name" >/dev/null 2>>"$TMP/$name.podman.log"
  end=$(date +%s%N)
  code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
  local ms=$(((end - start) / 1000000))
  [ "$code" = 0 ] || fail "$1: exit code $code after podman stop (expected 0)"
  ((ms < (STOP_TIMEOUT_S - 2) * 1000)) || fail "$1: podman stop took $ms ms (grace $STOP_TIMEOUT_S s): killed, not drained"
  podman logs "$name" 2>&1 | grep -q '"shut down cleanly"' || fail "$1: no \"shut down cleanly\" in its log"
  ok "$1: podman stop → exit 0 in $ms ms, \"shut down cleanly\""
}

# ---------------------------------------------------------------------------------------------------------------
log "podman and the base image"
# Rootful podman: the contents checks mount the image (`podman image mount`), and the shared script installs packages.
[ "$(id -u)" = 0 ] || fail "run as root (sudo bash test/image/run.sh)"
if ! command -v podman >/dev/null || ! podman image exists "$BASE_IMAGE" 2>/dev/null; then
  script=
  for candidate in "${SHARED_DIR:-$ROOT/../shared}/container/local-base-image.sh" \
    /work/shared/container/local-base-image.sh; do
    [ -f "$candidate" ] && script=$candidate && break
  done
  [ -n "$script" ] || fail "podman or $BASE_IMAGE missing, and no shared/container/local-base-image.sh to make them"
  echo "running $script"
  bash "$script"
fi
podman --version
for port in 3306 6379; do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "nothing listens on 127.0.0.1:$port (MariaDB 3306, Redis 6379)"
done

log "build $IMAGE"
build_start=$(date +%s)
# --format docker keeps HEALTHCHECK (the OCI format has no such field); --pull=never: no registry here.
podman build --pull=never --network host --format docker -t "$IMAGE" "$ROOT" >"$TMP/build.log" 2>&1 || {
  tail -n 60 "$TMP/build.log" >&2
  fail "podman build"
}
cached=$(grep -c '^--> Using cache' "$TMP/build.log" || true)
ok "built in $(($(date +%s) - build_start)) s ($cached steps from the layer cache)"

# ---------------------------------------------------------------------------------------------------------------
log "image configuration"
user=$(podman image inspect -f '{{.Config.User}}' "$IMAGE")
[[ "$user" =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || fail "USER is '$user': expected a numeric non-root uid"
ok "USER $user (numeric, non-root)"
health=$(podman image inspect -f '{{json .Config.Healthcheck}}' "$IMAGE")
grep -q '/health/live' <<<"$health" || fail "no HEALTHCHECK on /health/live: $health"
ok "HEALTHCHECK declared: $(node -e 'const h=JSON.parse(process.argv[1]); console.log(`every ${h.Interval/1e9} s, timeout ${h.Timeout/1e9} s, start period ${h.StartPeriod/1e9} s`)' "$health")"
cmd=$(podman image inspect -f '{{json .Config.Cmd}}' "$IMAGE")
[ "$cmd" = '["node","dist/main.js"]' ] || fail "CMD is $cmd: expected exec form [\"node\",\"dist/main.js\"] (signals reach node)"
ok "CMD $cmd (exec form: SIGTERM reaches node)"

log "layer weights"
podman history --format json "$BASE_IMAGE" >"$TMP/base-history.json"
podman history --format json "$IMAGE" >"$TMP/history.json"
# The image's history is the base's plus ours, newest first: ours are the entries above the base's count.
app_bytes=$(node - "$TMP/history.json" "$TMP/base-history.json" <<'NODE'
const fs = require('node:fs');
const [mine, base] = process.argv.slice(2).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const ours = mine.slice(0, mine.length - base.length);
const mb = (b) => (b / 1e6).toFixed(1).padStart(7);
for (const l of ours.reverse())
  if (l.size > 0) console.error(`  ${mb(l.size)} MB  ${l.CreatedBy.replace(/^\/bin\/sh -c (#\(nop\) )?/, '').slice(0, 90)}`);
const app = ours.reduce((sum, l) => sum + l.size, 0);
const baseBytes = base.reduce((sum, l) => sum + l.size, 0);
console.error(`  ${mb(app)} MB  the app's layers, on a ${(baseBytes / 1e6).toFixed(1)} MB base: ${((app + baseBytes) / 1e6).toFixed(1)} MB`);
console.log(app);
NODE
)
((app_bytes <= APP_LAYERS_BUDGET_MB * 1000000)) ||
  fail "the app's layers weigh more than APP_LAYERS_BUDGET_MB=$APP_LAYERS_BUDGET_MB MB"
ok "app layers within the $APP_LAYERS_BUDGET_MB MB budget"

# ---------------------------------------------------------------------------------------------------------------
log "image contents"
MNT=$(podman image mount "$IMAGE")
MOUNTED=1
[ -f "$MNT/app/dist/main.js" ] && [ -f "$MNT/app/dist/cli/migrate.js" ] && [ -f "$MNT/app/dist/cli/user-admin.js" ] ||
  fail "dist/main.js, dist/cli/migrate.js or dist/cli/user-admin.js missing"
ok "dist/main.js, dist/cli/migrate.js, dist/cli/user-admin.js present"

# Every package the lockfile marks dev (or dev + optional peer, like typescript for typeorm) must be absent.
node - "$ROOT/package-lock.json" "$MNT/app" <<'NODE' || fail "dev dependencies in the image (above)"
const fs = require('node:fs');
const [lockFile, app] = process.argv.slice(2);
const packages = JSON.parse(fs.readFileSync(lockFile, 'utf8')).packages;
let checked = 0;
const present = [];
const optionalRuntime = [];
for (const [path, meta] of Object.entries(packages)) {
  if (!path) continue;
  if (meta.dev || meta.devOptional) {
    checked++;
    if (fs.existsSync(`${app}/${path}/package.json`)) present.push(path);
  } else if (meta.optional) optionalRuntime.push(path);
}
for (const name of ['jest', 'typescript', 'ts-node', 'ts-jest', '@nestjs/cli', '@nestjs/testing', 'eslint', 'supertest'])
  if (fs.existsSync(`${app}/node_modules/${name}`)) present.push(`node_modules/${name}`);
if (optionalRuntime.length)
  console.error(`  the Dockerfile prunes with --omit=optional, which drops these runtime packages: ${optionalRuntime.join(', ')}`);
if (present.length) console.error(`  present: ${[...new Set(present)].join(', ')}`);
if (present.length || optionalRuntime.length) process.exit(1);
console.log(`  ok   none of the lockfile's ${checked} dev packages (jest, typescript, @nestjs/cli, ts-node, …) is in /app`);
NODE

for tool in gcc g++ cc make python3; do
  [ -e "$MNT/usr/bin/$tool" ] && fail "build tool /usr/bin/$tool in the runtime image"
done
ok "no compiler, make or python3"

for path in test src sdk bench scripts examples coverage .git .ci dist/testing tsconfig.json nest-cli.json \
  jest.config.js ormconfig.ts README.md openapi.json; do
  [ -e "$MNT/app/$path" ] && fail "/app/$path is in the image"
done
found=$(find "$MNT/app" -path "$MNT/app/node_modules" -prune -o -type f \
  \( -name '*.spec.*' -o -name '*.e2e-spec.*' -o -name '*.ts' -o -name '*.map' \) -print | head -5)
[ -z "$found" ] || fail "test or source files in /app: ${found//$MNT/}"
ok "no test file, no TypeScript source, no source map, no repository file beyond package.json in /app"

found=$(find "$MNT" -xdev \( -name '.env' -o -name '.env.*' -o -name '.npmrc' -o -name '*.sqlite' -o -name '*.sqlite-*' \
  -o -name 'dev-secrets.json' -o -name 'dev-jwt-key.pem' -o -name '*.key' \) -print | head -5)
[ -z "$found" ] || fail "secret-looking files in the image: ${found//$MNT/}"
[ -z "$(ls -A "$MNT/app/data")" ] || fail "/app/data is not empty in the image"
# Where a build or a careless COPY could leave a key (the base's own npm documentation shows PEM examples).
found=$(grep -rlIs -e '-----BEGIN [A-Z ]*PRIVATE KEY-----' "$MNT/app" "$MNT/home" "$MNT/root" "$MNT/etc" \
  "$MNT/tmp" "$MNT/var" "$MNT/opt" "$MNT/srv" | head -5 || true)
[ -z "$found" ] || fail "private keys in the image: ${found//$MNT/}"
ok "no .env, .npmrc, SQLite file, development secret or private key; /app/data empty"
podman image unmount "$IMAGE" >/dev/null
MOUNTED=

# ---------------------------------------------------------------------------------------------------------------
log "development mode (sandbox, SQLite on a tmpfs, read-only root)"
DEV_PORT=$(free_port)
DEV="$RUN_ID-dev"
run_app dev -e NODE_ENV=development -e PORT="$DEV_PORT" --tmpfs /app/data:rw,mode=0700,U
wait_http "http://127.0.0.1:$DEV_PORT/health/live" 60 "$DEV"
ok "/health/live answers"
uid=$(podman exec "$DEV" stat -c %u /proc/1)
[ "$uid" = 1000 ] || fail "the server runs as uid $uid"
ok "the server (pid 1) runs as uid $uid"
podman exec "$DEV" sh -c 'touch /app/dist/x' 2>/dev/null && fail "the root filesystem is writable"
ok "root filesystem read-only; the app wrote only to the tmpfs: $(podman exec "$DEV" ls /app/data | tr '\n' ' ')"
podman healthcheck run "$DEV" >/dev/null 2>&1 || fail "the image's HEALTHCHECK fails on a healthy container"
ok "HEALTHCHECK passes"
expect_status "GET /docs (Swagger UI assets present)" "$(http GET "http://127.0.0.1:$DEV_PORT/docs")" 200

r=$(http POST "http://127.0.0.1:$DEV_PORT/sandbox/wechat/codes" '{"openid":"o-image-test"}')
expect_status "sandbox mints a login code" "$r" 201
code=$(body_of "$r" | json code)
r=$(http POST "http://127.0.0.1:$DEV_PORT/auth/wechat/login" "{\"code\":\"$code\"}")
expect_status "sandbox login" "$r" 200
access=$(body_of "$r" | json accessToken)
r=$(http GET "http://127.0.0.1:$DEV_PORT/users/me" '' "$access")
expect_status "GET /users/me with the access token" "$r" 200
body_of "$r" | json id >/dev/null || fail "/users/me has no id"
out=$(podman exec "$DEV" node dist/cli/migrate.js show) || fail "migrate.js show in the dev container: $out"
grep -q '^\[ \]' <<<"$out" && fail "migrations pending in the dev container: $out"
ok "node dist/cli/migrate.js show: $(tail -n1 <<<"$out")"
stop_and_check dev

# ---------------------------------------------------------------------------------------------------------------
log "production mode: refusals"
secret() { node -e "console.log(require('crypto').randomBytes($1).toString('base64'))"; }
WX_APPID=wximagetest00000001
WX_SECRET=$(node -e "console.log(require('crypto').randomBytes(16).toString('hex'))")
node "$HERE/fake-wechat.js" "$WX_APPID" "$WX_SECRET" >"$TMP/fake-wechat.port" 2>"$TMP/fake-wechat.log" &
FAKE_WECHAT_PID=$!
for _ in $(seq 50); do [ -s "$TMP/fake-wechat.port" ] && break; sleep 0.1; done
WX_PORT=$(cat "$TMP/fake-wechat.port")
[ -n "$WX_PORT" ] || fail "the fake WeChat did not start: $(cat "$TMP/fake-wechat.log")"
PROD_PORT=$(free_port)
mysql "${MYSQL[@]}" -e "CREATE DATABASE \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
# Secrets through an --env-file (mode 0600 in a private temporary folder), never on the command line.
cat >"$TMP/prod.env" <<ENV
NODE_ENV=production
PORT=$PROD_PORT
DATABASE_URL=mariadb://root@127.0.0.1:3306/$DB_NAME
REDIS_URL=$REDIS_URL_HOST
REDIS_KEY_PREFIX=$REDIS_PREFIX
JWT_SECRET=$(secret 48)
SESSION_KEY_ENCRYPTION_KEY=$(secret 32)
WECHAT_APPID=$WX_APPID
WECHAT_SECRET=$WX_SECRET
WECHAT_API_BASE=http://127.0.0.1:$WX_PORT
PUBLIC_URL=http://127.0.0.1:$PROD_PORT
ENV
chmod 600 "$TMP/prod.env"

# refuse NAME EXPECTED_MESSAGE [podman run options...]: the container must exit non-zero, saying why.
refuse() {
  local name=$1 expected=$2 out rc=0
  shift 2
  out=$(timeout 90 podman run --rm --name "$RUN_ID-$name" --no-healthcheck --network host --read-only \
    --read-only-tmpfs=false --env-file "$TMP/prod.env" "$@" "$IMAGE" 2>&1) || rc=$?
  ((rc != 0)) || fail "$name: started (exit 0) instead of refusing"
  ((rc != 124)) || fail "$name: still running after 90 s instead of refusing"
  grep -qF "$expected" <<<"$out" || fail "$name: exit $rc without \"$expected\": $(cut -c1-400 <<<"$out")"
  ok "$name: exit $rc, \"$expected\""
  REFUSAL_OUTPUT=$out
}
WEAK_SECRET=changeme-changeme-changeme-changeme
refuse "weak-secret" "JWT_SECRET is too weak for production" -e JWT_SECRET="$WEAK_SECRET"
grep -qF "$WEAK_SECRET" <<<"$REFUSAL_OUTPUT" && fail "the refusal printed the secret"
ok "the refusal does not print the secret"
refuse "sandbox" "WECHAT_SANDBOX cannot be enabled when NODE_ENV=production" -e WECHAT_SANDBOX=true

# ---------------------------------------------------------------------------------------------------------------
log "production mode: migrations, login, admin, drain (MariaDB $DB_NAME, Redis prefix $REDIS_PREFIX)"
# run_cli NAME ARGS...: a one-off container of the image with the production environment, as an operator runs it.
run_cli() {
  local name=$1
  shift
  CLI_RC=0
  # --no-healthcheck: a one-off command, not the server (podman would also try to schedule the check).
  CLI_OUT=$(timeout 90 podman run --rm --name "$RUN_ID-$name" --no-healthcheck --network host --read-only \
    --read-only-tmpfs=false --env-file "$TMP/prod.env" "$IMAGE" "$@" 2>&1) || CLI_RC=$?
}
run_cli migrate-check node dist/cli/migrate.js check
[ "$CLI_RC" = 1 ] && grep -q 'pending migration' <<<"$CLI_OUT" || fail "migrate.js check on an empty database: exit $CLI_RC: $CLI_OUT"
ok "node dist/cli/migrate.js check on the empty database: exit 1, $(tail -n1 <<<"$CLI_OUT")"

PROD="$RUN_ID-prod"
# No tmpfs at all: with MariaDB and secrets from the environment the app writes nothing to its filesystem.
run_app prod --env-file "$TMP/prod.env"
wait_http "http://127.0.0.1:$PROD_PORT/health/ready" 90 "$PROD"
ok "/health/ready (MariaDB and Redis) answers 200: migrations applied on start"
run_cli migrate-check2 node dist/cli/migrate.js check
[ "$CLI_RC" = 0 ] || fail "migrate.js check after the start: exit $CLI_RC: $CLI_OUT"
ok "node dist/cli/migrate.js check: exit 0, $(tail -n1 <<<"$CLI_OUT")"
podman healthcheck run "$PROD" >/dev/null 2>&1 || fail "HEALTHCHECK fails in production mode"
ok "HEALTHCHECK passes"

base="http://127.0.0.1:$PROD_PORT"
r=$(http POST "$base/auth/wechat/login" '{"code":"a-image-user"}')
expect_status "login through the fake WeChat" "$r" 200
access=$(body_of "$r" | json accessToken)
refresh=$(body_of "$r" | json refreshToken)
r=$(http GET "$base/users/me" '' "$access")
expect_status "GET /users/me" "$r" 200
user_id=$(body_of "$r" | json id)
rows=$(mysql "${MYSQL[@]}" -N -e "SELECT COUNT(*) FROM \`$DB_NAME\`.users WHERE id='$user_id'")
[ "$rows" = 1 ] || fail "user $user_id not in MariaDB ($rows rows)"
ok "the user is a row of $DB_NAME.users"
keys=$(redis-cli -u "$REDIS_URL_HOST" --scan --pattern "$REDIS_PREFIX*" | wc -l)
((keys > 0)) || fail "no Redis key under $REDIS_PREFIX"
ok "$keys Redis keys under the test's prefix"
expect_status "GET /admin/users/:id as a plain user" "$(http GET "$base/admin/users/$user_id" '' "$access")" 403

run_cli grant-admin node dist/cli/user-admin.js grant-admin "$user_id"
[ "$CLI_RC" = 0 ] && grep -Eq "^$user_id: roles (.*,)?admin(,|\$)" <<<"$CLI_OUT" || fail "user-admin grant-admin: exit $CLI_RC: $CLI_OUT"
ok "node dist/cli/user-admin.js grant-admin: $(tail -n1 <<<"$CLI_OUT")"
r=$(http POST "$base/auth/refresh" "{\"refreshToken\":\"$refresh\"}")
expect_status "refresh after the grant" "$r" 200
admin_access=$(body_of "$r" | json accessToken)
expect_status "GET /admin/users/:id as an admin" "$(http GET "$base/admin/users/$user_id" '' "$admin_access")" 200

# Drain: a login whose WeChat call takes 2 s is in flight when the container is told to stop; it must complete.
curl -s -o "$TMP/slow.json" -w '%{http_code}' --max-time 20 -X POST "$base/auth/wechat/login" \
  -H 'content-type: application/json' -d '{"code":"slow-image-user"}' >"$TMP/slow.status" &
slow_pid=$!
for _ in $(seq 100); do grep -q 'slow request received' "$TMP/fake-wechat.log" && break; sleep 0.1; done
grep -q 'slow request received' "$TMP/fake-wechat.log" || fail "the slow login did not reach the fake WeChat"
stop_and_check prod
wait "$slow_pid" || true
[ "$(cat "$TMP/slow.status")" = 200 ] || fail "the login in flight at podman stop got $(cat "$TMP/slow.status"): $(cat "$TMP/slow.json")"
ok "the login in flight during podman stop completed: HTTP 200"

run_cli migrate-revert node dist/cli/migrate.js revert
[ "$CLI_RC" = 0 ] && grep -q '^reverted ' <<<"$CLI_OUT" || fail "migrate.js revert: exit $CLI_RC: $CLI_OUT"
ok "node dist/cli/migrate.js revert: $CLI_OUT"
run_cli migrate-run node dist/cli/migrate.js run
[ "$CLI_RC" = 0 ] && grep -q '^applied ' <<<"$CLI_OUT" || fail "migrate.js run: exit $CLI_RC: $CLI_OUT"
ok "node dist/cli/migrate.js run: $(tail -n1 <<<"$CLI_OUT")"
