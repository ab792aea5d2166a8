# The settlement-ledger service image: `settle run` by default.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY adapters ./adapters
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --create-home settle
USER settle
ENTRYPOINT ["settle"]
CMD ["run"]
