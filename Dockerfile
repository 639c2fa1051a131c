# Tessera in a container: the release binary on a slim Debian, nothing else.
#   docker build -t tessera .
#   docker run -p 8080:8080 -v tessera-data:/data tessera
# Configuration comes from TESSERA_* variables (see `tessera config example`).
FROM rust:1.85-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/tessera

FROM debian:bookworm-slim
# Outgoing cookie-login requests use rustls with its own roots: no CA package needed.
RUN useradd --system --home /data --create-home tessera
COPY --from=build /src/target/release/tessera /usr/local/bin/tessera
USER tessera
WORKDIR /data
ENV TESSERA_LISTEN=0.0.0.0:8080 \
    TESSERA_METRICS_LISTEN=0.0.0.0:9464 \
    TESSERA_DATABASE_URL=sqlite:///data/tessera.db \
    TESSERA_LOG_FORMAT=json
EXPOSE 8080 9464
VOLUME /data
STOPSIGNAL SIGTERM
ENTRYPOINT ["tessera"]
CMD ["serve"]
