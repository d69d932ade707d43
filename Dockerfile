# The topology server (`slurpie topology`) as an image:
#   docker build -t slurpie-topology .
#   docker run -p 7070:7070 slurpie-topology                          # state in memory
#   docker run -p 7070:7070 -e PORT=7070 slurpie-topology --store redis://redis:6379
# HOST and PORT (environment, default 0.0.0.0:7070) are the address it listens on; any
# argument is a `slurpie topology` flag (--ttl, --quota-ids, --token-file, --store, ...).
# The build stage compiles the TypeScript (npm run build: dist/); the image holds dist/,
# bin/slurpie.js (which runs dist/ when no sources are beside it) and the production
# dependencies only, and runs as the unprivileged user `node`.

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build

FROM node:20-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=7070
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin/slurpie.js ./bin/slurpie.js
COPY docker/topology-entrypoint.sh ./docker/topology-entrypoint.sh
USER node
EXPOSE 7070
ENTRYPOINT ["./docker/topology-entrypoint.sh"]
