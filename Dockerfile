# Sizer bot image: `docker run --env-file sizer.env IMAGE` starts the Slack bot (Socket Mode).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY tools ./tools
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app sizer
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY playbooks ./playbooks
COPY terraform ./terraform
USER 10001
ENV PYTHONUNBUFFERED=1 \
    SIZER_PLAYBOOKS_DIR=/app/playbooks \
    SIZER_TERRAFORM_DIR=/app/terraform
ENTRYPOINT ["sizer"]
CMD ["serve"]
