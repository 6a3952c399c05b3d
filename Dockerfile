# syntax=docker/dockerfile:1
# orgd: a static binary in a minimal, non-root runtime image.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# The same flags .ci/run builds with, so CI checks this build.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/orgd ./cmd/orgd \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/orgd /usr/local/bin/orgd
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot
WORKDIR /data
# Without MONGODB_URI the embedded store keeps its files here: mount a
# volume, or they go with the container.
VOLUME /data
ENV HTTP_ADDR=:8000 DATA_DIR=/data ENVIRONMENT=production LOG_FORMAT=json
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=3 CMD ["/usr/local/bin/orgd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/orgd"]
CMD ["serve"]
