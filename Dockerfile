# The settlement-ledger service image: `settle run` by default.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY adapters ./adapters
COPY migrations ./migrations
COPY contracts ./contracts
COPY scripts ./scripts
COPY package.json foundry.toml ./
# The Solidity toolchain comes from npm (solc, forge), pinned in package.json; the compiled
# artifacts are built here, never committed.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && npm install --no-package-lock --no-audit --no-fund && scripts/build-contracts \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir -e . && useradd --create-home settle
USER settle
ENTRYPOINT ["settle"]
CMD ["run"]
