# One image for every Stampede role: coordinator, worker, server, run, verify, demo.
#
#   docker build -t stampede:latest .
#   docker run --rm -p 9042:9042 stampede:latest server --host 0.0.0.0
#   docker run --rm -p 5557:5557 -p 8089:8089 -e STAMPEDE_TOKEN=... stampede:latest \
#       coordinator --bind 0.0.0.0:5557 --expect-workers 4 --target 1000000
#   docker run --rm -e STAMPEDE_TOKEN=... stampede:latest worker --coordinator COORDINATOR:5557
#
# Stage 1 builds a release binary with the Swift standard library and Foundation linked in statically;
# stage 2 is a slim Debian with only the shared libraries that binary still needs (glibc, libstdc++).

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
# Resolve dependencies in their own layer so source edits do not refetch them. Package.resolved is used when the
# build context has one (the glob keeps COPY from failing on a fresh clone, where it is absent).
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve
COPY Sources ./Sources
COPY Protos ./Protos
# Package.swift also declares the test targets, and SwiftPM checks that every declared target's directory exists even
# when building one product ("Source files for target CQLProtocolTests should be located under 'Tests/...'").
COPY Tests ./Tests
RUN swift build -c release --product stampede --static-swift-stdlib \
 && mkdir -p /staging \
 && cp "$(swift build -c release --show-bin-path)/stampede" /staging/stampede \
 && find "$(swift build -c release --show-bin-path)" -maxdepth 1 -name '*.resources' -exec cp -R {} /staging/ \; \
 && strip /staging/stampede

FROM ${RUNTIME_IMAGE} AS runtime
# Debian package versions are not pinned (hadolint DL3008): the base image's release pins them, and a pinned
# version disappears from the archive at the next point release, breaking the build.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libstdc++6 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home stampede
COPY --from=build /staging/ /usr/local/bin/
USER 10001
WORKDIR /data
# 5557: coordinator gRPC (workers connect here)   8089: coordinator web dashboard   9042-9044: embedded CQL server
EXPOSE 5557 8089 9042 9043 9044
ENTRYPOINT ["/usr/local/bin/stampede"]
CMD ["--help"]
