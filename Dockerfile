# One image for every component; each is started by an `rpm` subcommand
# (bridge, streams, sink, alerts, db migrate, topics create), which the Helm
# chart passes as container args.
#
# Build:  docker build -t iomt-rpm:0.1.0 .
# Run:    docker run --rm iomt-rpm:0.1.0 topics create --dry-run

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Compilers live only in this stage: a dependency without a wheel for the
# target platform (e.g. faust-streaming's Cython parts on arm64) builds here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/rpm
WORKDIR /src
COPY pyproject.toml README.md ./
COPY wire/ wire/
COPY runtime/ runtime/
COPY storage/ storage/
COPY embedded/ embedded/
COPY ingest/ ingest/
COPY streams/ streams/
COPY alerts/ alerts/
COPY firmware_sim/ firmware_sim/
COPY cli/ cli/
# A regular (not editable) install: the final stage needs only /opt/rpm.
# pip compiles the .pyc files here, so the read-only root filesystem of the
# running container never needs to be written.
RUN /opt/rpm/bin/pip install . \
 && /opt/rpm/bin/rpm --help > /dev/null

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/rpm/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 rpm \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin rpm
COPY --from=build /opt/rpm /opt/rpm
# A directory without a .env file: pydantic-settings reads ./.env, and
# settings must come from the environment (Kubernetes Secrets), never a file
# baked into the image.
WORKDIR /app
USER 10001:10001
# Console HTTP (rpm alerts) and the metrics/health port of every service.
EXPOSE 8080 9400
ENTRYPOINT ["rpm"]
CMD ["--help"]
