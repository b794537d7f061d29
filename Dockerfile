# Image of the sluice workers, API and CLI (docker-compose.yml). CPU onnxruntime; for GPU hosts see the README.
FROM node:20.19-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts
# The examples' flights data (a dev dependency of the repository, needed here by `sluice pipeline start
# examples/...`); the version must match package.json's (test/unit/docker-compose.test.ts checks it).
RUN npm install --no-save --ignore-scripts --omit=dev vega-datasets@3.2.1
COPY shared ./shared
COPY activities ./activities
COPY domain ./domain
COPY control ./control
COPY formats ./formats
COPY workflows ./workflows
COPY workers ./workers
COPY api ./api
COPY cli ./cli
COPY examples ./examples
# Where compose's approval-signing-key service keeps the API's signing key; a named volume mounted here starts owned by node.
RUN mkdir -p /var/lib/sluice/approval-keys && chown node:node /var/lib/sluice/approval-keys
USER node
