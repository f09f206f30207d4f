# malpipe: one image for every role (`serve --role api`, `worker`). Untested in CI; see compose.yaml.
FROM node:20-bookworm-slim AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      build-essential python3 pkg-config libyara-dev ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# Install scripts run only for the packages approved in package.json "allowScripts"; without the libyara addon
# MALPIPE_YARA_ENGINE=auto falls back to YARA-X.
RUN npm ci --no-audit --no-fund && npm run build -w @malpipe/web
RUN npm prune --omit=dev --no-audit --no-fund
# Builds the CLI bundle now (node_modules/.cache/malpipe-cli): the runtime user cannot write under /app.
RUN node apps/cli/bin/malpipe.js --help >/dev/null

FROM node:20-bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libyara9 ca-certificates tini >/dev/null \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 --home /data malpipe && mkdir -p /data && chown malpipe /data
WORKDIR /app
COPY --from=build /app /app
USER malpipe
ENV MALPIPE_DATA_DIR=/data MALPIPE_HOST=0.0.0.0 NODE_ENV=production
EXPOSE 8787 9464
ENTRYPOINT ["/usr/bin/tini", "--", "node", "apps/cli/bin/malpipe.js"]
CMD ["serve"]
