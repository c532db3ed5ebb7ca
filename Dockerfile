# keepwarm: keeps Amazon Bedrock imported models warm on a schedule.
#   docker build -t keepwarm .
#   docker run -d --name keepwarm --read-only --tmpfs /tmp \
#     -v keepwarm-state:/var/lib/keepwarm \
#     -v "$PWD/etc-keepwarm:/etc/keepwarm:ro" \
#     -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN \
#     -p 127.0.0.1:9464:9464 keepwarm

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Behind a TLS-intercepting proxy, mount its CA bundle into the build and name it here
# (podman build -v /etc/ssl/certs/ca-certificates.crt:/run/build-ca.crt:ro
#  --build-arg NODE_EXTRA_CA_CERTS=/run/build-ca.crt). Build arguments stay out of the image.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts stay off: "postprepare" would build before the sources are here, and no dependency
# needs an install script to compile TypeScript.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ARG NODE_EXTRA_CA_CERTS
ENV NODE_ENV=production \
    KEEPWARM_STATE_DIR=/var/lib/keepwarm \
    KEEPWARM_HTTP_HOST=0.0.0.0 \
    KEEPWARM_HTTP_PORT=9464
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --no-update-notifier
COPY --from=build /src/dist ./dist
COPY config ./config
COPY deploy/healthcheck.mjs ./healthcheck.mjs
# A fixed numeric uid/gid so volume ownership and runAsNonRoot checks are predictable.
RUN groupadd --gid 10001 keepwarm \
 && useradd --uid 10001 --gid keepwarm --no-create-home \
      --home-dir /var/lib/keepwarm --shell /usr/sbin/nologin keepwarm \
 && mkdir -p /var/lib/keepwarm /etc/keepwarm \
 && chown keepwarm:keepwarm /var/lib/keepwarm \
 && chmod 0750 /var/lib/keepwarm
# Everything keepwarm writes goes here, so the root filesystem can be mounted read-only.
VOLUME ["/var/lib/keepwarm"]
USER 10001:10001
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs"]
# Exec form: node is PID 1 and receives SIGTERM itself (graceful stop) and SIGHUP (reload).
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["run", "--config", "/etc/keepwarm/keepwarm.yaml"]
