# syntax=docker/dockerfile:1
# audit-scan as a container image, for the nightly audit CronJob (deploy/) and CI jobs.
#   docker build -t audit-scan .
#   docker run --rm -v "$PWD:/logs:ro" audit-scan /logs/audit.log
# Stage 1 builds the release binary; stage 2 is distroless (glibc, CA certificates for the AWS
# endpoints, no shell, no package manager) and runs as the unprivileged user 65532.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# What the build reads, and nothing else: the manifest, the lock file, the sources and the files
# they embed (queries/, data/); benches/ because Cargo.toml declares its targets.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY queries ./queries
COPY data ./data
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin audit-scan \
 && cp target/release/audit-scan /usr/local/bin/audit-scan

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/audit-scan /usr/local/bin/audit-scan
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/audit-scan"]
CMD ["--help"]
