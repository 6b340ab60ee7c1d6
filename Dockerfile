# syntax=docker/dockerfile:1
#
# InvGuard Cron image: the scheduler daemon (`backup_cron run`) with `backup_cron` and
# `monitor` on the PATH.
#
#   docker build -t invguard-cron .
#   docker build --build-arg INVGUARD_UID=1000 --build-arg INVGUARD_GID=1000 -t invguard-cron .
#
# The container must run as the uid/gid that owns the backend's database (see
# docs/operations.md): set the build arguments to those ids, or override the user at run time
# (Compose `user:`) and make the backup and state volumes writable by it.

# --- Build stage -------------------------------------------------------------------------------
# The Rust version is the one of rust-toolchain.toml (`cargo xtask tidy` checks it). Both stages
# use Debian bookworm, so the binaries find the glibc they were linked against. Tags can be
# re-pushed with security updates; to freeze an image exactly, append its digest
# (`FROM debian:bookworm-slim@sha256:...`) from `docker buildx imagetools inspect`.
FROM rust:1.95.0-bookworm AS build

WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY crates crates
COPY bins bins
COPY xtask xtask

# rust-toolchain.toml is not copied: the image's toolchain is the pinned one, and the file
# would make rustup download the clippy and rustfmt components, which a build does not need.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package backup_cron --package monitor \
    && install -D --mode=0755 target/release/backup_cron /out/backup_cron \
    && install -D --mode=0755 target/release/monitor /out/monitor

# --- Runtime stage -----------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: HTTPS notifiers and APIs. gnupg, sqlite3 and zstd are not used by the
# binaries: they are there for a manual restore when backup_cron itself cannot run.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends ca-certificates gnupg sqlite3 zstd \
    && rm -rf /var/lib/apt/lists/*

ARG INVGUARD_UID=10001
ARG INVGUARD_GID=10001
RUN groupadd --gid "${INVGUARD_GID}" invguard \
    && useradd --uid "${INVGUARD_UID}" --gid "${INVGUARD_GID}" --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin invguard \
    && mkdir -p /app/data /app/backups /app/state \
    && chown "${INVGUARD_UID}:${INVGUARD_GID}" /app/backups /app/state \
    && chmod 0700 /app/backups /app/state

COPY --from=build /out/backup_cron /usr/local/bin/backup_cron
COPY --from=build /out/monitor /usr/local/bin/monitor

# The defaults of the original service, plus the state directory on its own volume.
ENV DATABASE_PATH=/app/data/inventory.db \
    BACKUP_PATH=/app/backups \
    INVGUARD_STATE__DIR=/app/state

WORKDIR /app
VOLUME ["/app/data", "/app/backups", "/app/state"]
USER ${INVGUARD_UID}:${INVGUARD_GID}

# `backup_cron health` exits 1 when the backend API does not answer, the daemon's heartbeat is
# stale, or the newest verified backup is older than [monitor] backup_failure_hours.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["backup_cron", "health"]

# The daemon finishes or cancels the running job within its grace period after SIGTERM.
STOPSIGNAL SIGTERM
CMD ["backup_cron", "run"]
