# syntax=docker/dockerfile:1
# Multi-stage: build a wheel with its dependencies, then run it as a non-root user under gunicorn.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY connector ./connector
COPY jobs ./jobs
COPY sandbox ./sandbox
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ECM_DATA_DIR=/var/lib/ecm ECM_MAPPINGS=/etc/ecm/mappings/jira-cloud.yaml
RUN useradd --system --uid 10001 --home-dir /var/lib/ecm --create-home ecm
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY mappings /etc/ecm/mappings
USER ecm
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
# `ecm serve` runs the migrations, then gunicorn; the jobs process is the same image with `ecm jobs`.
CMD ["ecm", "serve", "--host", "0.0.0.0", "--port", "8080"]
