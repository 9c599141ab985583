# gridcare: the whole backend in one image. No build step: tsx (a runtime
# dependency) runs the TypeScript sources directly, as `npm start` does.
#
#   docker build -t gridcare .
#   docker run -p 8080:8080 -p 1883:1883 -v gridcare-data:/data gridcare
#
# Without DATABASE_URL the embedded store keeps its data in /data (the volume);
# docker-compose.yml runs it against a TimescaleDB server instead. See docs/deploy.md.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: tsx is one of them; typescript, @types and the
# test tools are not needed to run.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production HTTP_PORT=8080 MQTT_PORT=1883 DATA_DIR=/data
WORKDIR /app
# Code and dependencies stay owned by root: the node user can read them, not change them.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY app ./app
COPY addresses ./addresses
COPY alerts ./alerts
COPY api ./api
COPY bin ./bin
COPY broker ./broker
COPY config ./config
COPY detectors ./detectors
COPY docs ./docs
COPY errors ./errors
COPY ingest ./ingest
COPY registry ./registry
COPY scale ./scale
COPY simulators ./simulators
COPY store ./store
COPY vocab ./vocab
COPY web ./web
# The volume inherits this ownership when docker creates it, so the node user can write it.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080 1883
# /healthz answers 200 once the broker, the store and the API are ready. slim has no
# curl: node's fetch does it. The embedded store's first start runs the migrations,
# hence the start period.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Same command as `npm start`, without npm as PID 1, so SIGTERM reaches node and
# gridcare drains (bin/start.ts handles SIGINT and SIGTERM).
CMD ["node", "--max-semi-space-size=64", "--import", "tsx", "bin/start.ts"]
