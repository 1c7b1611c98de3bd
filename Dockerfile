# One image for every Mailwarden process: api, worker, inbound, migrate.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/inbound/package.json apps/inbound/
COPY apps/cli/package.json apps/cli/
COPY libs/alerts/package.json libs/alerts/
COPY libs/auth/package.json libs/auth/
COPY libs/checks/package.json libs/checks/
COPY libs/core/package.json libs/core/
COPY libs/db/package.json libs/db/
COPY libs/monitoring/package.json libs/monitoring/
COPY libs/net/package.json libs/net/
COPY libs/queue/package.json libs/queue/
COPY libs/reports/package.json libs/reports/
COPY libs/testing/package.json libs/testing/
# Production dependencies only; the image's own node replaces the pinned dev dependency.
RUN npm ci --omit=dev --no-audit --no-fund --workspaces --include-workspace-root

FROM node:24-slim
ENV NODE_ENV=production MAILWARDEN_ENV=production
# Small young generation: Node 24's default lets module loading leave ~300 MB RSS (scripts/start.ts).
ENV NODE_OPTIONS=--max-semi-space-size=8
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node apps ./apps
COPY --chown=node:node libs ./libs
COPY --chown=node:node migrations ./migrations
USER node
EXPOSE 3000 2525 9464
CMD ["node", "apps/api/src/server.ts"]
