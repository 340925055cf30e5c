# syntax=docker/dockerfile:1
# torwatch container image: ghcr.io/torwatch/torwatch (the Helm chart's default image.repository).
#   docker build -t ghcr.io/torwatch/torwatch:0.1.0 .
#   docker run -v $PWD/torwatch.yaml:/etc/torwatch/torwatch.yaml:ro -v torwatch-state:/var/lib/torwatch \
#     -p 9797:9797 -p 5514:5514/udp ghcr.io/torwatch/torwatch:0.1.0
# The config must listen on 0.0.0.0 and keep its state_dir at /var/lib/torwatch (see helm/torwatch/values.yaml).

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin torwatch \
    && install -D -m 0755 target/release/torwatch /out/torwatch \
    && install -d -m 0755 /out/state

# glibc and libgcc only, no shell; runs as nonroot (65532:65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/torwatch /usr/local/bin/torwatch
COPY --from=build --chown=65532:65532 /out/state /var/lib/torwatch
USER 65532:65532
WORKDIR /var/lib/torwatch
EXPOSE 9797/tcp 5514/udp 5514/tcp
VOLUME ["/var/lib/torwatch"]
ENTRYPOINT ["/usr/local/bin/torwatch"]
CMD ["run", "--config", "/etc/torwatch/torwatch.yaml"]
