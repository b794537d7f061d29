# Image of the sluice workers, API and CLI (docker-compose.yml). CPU onnxruntime; for GPU hosts see the README.
FROM node:20.19-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts
COPY shared ./shared
COPY activities ./activities
COPY domain ./domain
COPY control ./control
COPY formats ./formats
COPY workflows ./workflows
COPY workers ./workers
COPY api ./api
COPY cli ./cli
USER node
