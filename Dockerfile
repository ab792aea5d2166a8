# The settlement-ledger service image: `settle run` by default.
#
# Stages: `contracts` compiles contracts/ with the pinned npm toolchain (solc, Forge); `python`
# installs the pinned Python dependencies into a virtualenv (the only stage that may need a
# compiler); `dev` is the full source tree (with devtools/, for the compose dev profile's contract
# deployment); `runtime` (the default, last) is python slim with the virtualenv, the production
# packages and the compiled contracts, no compilers, no devtools/, run as a non-root user.
#   docker build -t settlement-ledger .              # runtime
#   docker build --target dev -t settlement-ledger:dev .

FROM node:22-bookworm-slim AS contracts
WORKDIR /src
COPY package.json foundry.toml ./
RUN npm install --no-package-lock --no-audit --no-fund --loglevel=error
COPY scripts/solc scripts/build-contracts ./scripts/
COPY contracts/src ./contracts/src
RUN bash scripts/build-contracts

FROM python:3.11-slim AS python
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY pyproject.toml /tmp/pyproject.toml
# Only the pinned runtime dependencies; the project itself runs from /app (its migrations,
# schemas and compiled contracts are found relative to the packages, as in a checkout).
RUN python -c "import tomllib; \
print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
    > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --requirement /tmp/requirements.txt

FROM python:3.11-slim AS base
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SETTLE_API__HOST=0.0.0.0 SETTLE_API__PORT=8080 \
    SETTLE_CLAIMS__HOST=0.0.0.0 SETTLE_CLAIMS__PORT=8081 \
    SETTLE_LOG_FORMAT=json SETTLE_DATA_DIR=/var/lib/settle
COPY --from=python /opt/venv /opt/venv
RUN printf '#!/bin/sh\nexec python -m entrypoints.cli "$@"\n' > /opt/venv/bin/settle \
    && chmod 0755 /opt/venv/bin/settle \
    && useradd --system --create-home --home-dir /var/lib/settle --uid 10001 settle
WORKDIR /app
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY adapters ./adapters
COPY entrypoints ./entrypoints
COPY bootstrap ./bootstrap
COPY migrations ./migrations
COPY schemas ./schemas
COPY deploy/docker/check-prod-env /usr/local/bin/check-prod-env
COPY --from=contracts /src/contracts/out ./contracts/out
# Byte-compiled once here: PYTHONDONTWRITEBYTECODE stops the service writing caches, so without
# this every start compiles the project's ~200 modules again (about 0.5 s of the start-up).
RUN python -m compileall -q domain application projections adapters entrypoints bootstrap
EXPOSE 8080 8081
# The process answers on /healthz (no credentials needed); python's urllib, so no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD \
    python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SETTLE_API__PORT', '8080') + '/healthz', timeout=4)"
ENTRYPOINT ["settle"]
CMD ["run"]

# Development image: the runtime plus devtools/ (contract deployment, demo) — never deployed.
FROM base AS dev
COPY devtools ./devtools
USER settle

FROM base AS runtime
# devtools/ is not part of a deployed node: make sure no copy of it slipped in.
RUN rm -rf /app/devtools && find /app -name '__pycache__' -prune -exec rm -rf {} +
USER settle
