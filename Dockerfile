# themisgate: the core and every first-party plugin, installed from the lock file.
# docker build -t themisgate . && docker run -p 8000:8000 themisgate
FROM python:3.11-slim AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/themisgate \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY core core
COPY plugins plugins
COPY examples/hello-plugin examples/hello-plugin
# the runtime packages only: every workspace member, none of the dev tools
RUN uv sync --locked --no-dev --all-packages --no-editable

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin themisgate \
 && mkdir -p /var/lib/themisgate /etc/themisgate \
 && chown themisgate:themisgate /var/lib/themisgate
COPY --from=build /opt/themisgate /opt/themisgate
COPY deploy/plugins.toml /etc/themisgate/plugins.toml
ENV PATH=/opt/themisgate/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    THEMISGATE_CONFIG=/etc/themisgate/plugins.toml \
    THEMISGATE__CORE__HOST=0.0.0.0 \
    THEMISGATE__CORE__LOG_FORMAT=json
USER themisgate
WORKDIR /var/lib/themisgate
VOLUME ["/var/lib/themisgate"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"]
CMD ["themisgate", "serve"]
