# syntax=docker/dockerfile:1
# One image for every Telltale process; the command picks the role:
#   docker run … telltale            → node cli/bin/telltale.js start (one process: the default)
#   command: ["collector"] | ["dispatcher"] | ["dashboards"]   (docker-compose.yml, docs/scaling.md)
ARG NODE_IMAGE=node:20.19-bookworm-slim

# ---- build: dev dependencies, TypeScript, the SDK bundle -------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first: the npm ci layer is reused until a dependency changes.
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY spool/package.json spool/
COPY schema/package.json schema/
COPY browser-sdk/package.json browser-sdk/
COPY collector/package.json collector/
COPY dispatchers/package.json dispatchers/
COPY dashboards/package.json dashboards/
COPY node/package.json node/
COPY cli/package.json cli/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ---- runtime: production dependencies and the built files only --------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/protocol/package.json protocol/
COPY --from=build /src/spool/package.json spool/
COPY --from=build /src/schema/package.json schema/
COPY --from=build /src/browser-sdk/package.json browser-sdk/
COPY --from=build /src/collector/package.json collector/
COPY --from=build /src/dispatchers/package.json dispatchers/
COPY --from=build /src/dashboards/package.json dashboards/
COPY --from=build /src/node/package.json node/
COPY --from=build /src/cli/package.json cli/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/protocol/dist protocol/dist
COPY --from=build /src/spool/dist spool/dist
COPY --from=build /src/schema/dist schema/dist
COPY --from=build /src/collector/dist collector/dist
COPY --from=build /src/dispatchers/dist dispatchers/dist
COPY --from=build /src/dashboards/dist dashboards/dist
COPY --from=build /src/node/dist node/dist
COPY --from=build /src/cli/dist cli/dist
COPY --from=build /src/cli/bin cli/bin
# The SDK bundle and the demo page, served under /sdk/* and /demo by `telltale start`.
COPY --from=build /src/browser-sdk/dist browser-sdk/dist
COPY --from=build /src/browser-sdk/demo browser-sdk/demo

# Not root: the data dir (spools, checkpoints, DuckDB, alert log) belongs to this user only. The
# folders compose mounts shared volumes on exist here, so a new volume takes this owner and mode.
RUN groupadd --system --gid 10001 telltale \
  && useradd --system --uid 10001 --gid telltale --home-dir /data --shell /usr/sbin/nologin telltale \
  && mkdir -p /data/artifacts /data/alerts \
  && chown -R telltale:telltale /data && chmod -R 0700 /data
USER telltale
VOLUME ["/data"]
# In a container the listeners face the container network; the load balancer or the port mapping
# decides what is public. TELLTALE_CONFIG: the apps file, mounted read-only (see .env.example).
ENV TELLTALE_DATA_DIR=/data \
    TELLTALE_HOST=0.0.0.0 \
    TELLTALE_OPS_HOST=0.0.0.0 \
    TELLTALE_PORT=8080 \
    TELLTALE_OPS_PORT=9464
EXPOSE 8080 9464
# Every role answers /healthz on one of its two ports: the HTTP port (start, collector, dashboards)
# or the ops port (dispatcher).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=[process.env.TELLTALE_PORT||8080,process.env.TELLTALE_OPS_PORT||9464];Promise.any(p.map(n=>fetch('http://127.0.0.1:'+n+'/healthz',{signal:AbortSignal.timeout(2500)}).then(r=>{if(!r.ok)throw 0}))).then(()=>process.exit(0),()=>process.exit(1))"]
ENTRYPOINT ["node", "cli/bin/telltale.js"]
CMD ["start"]
