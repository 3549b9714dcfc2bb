# Production image: granian (postroom.web) serves the app; run the same image as the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    POSTROOM_VAR_DIR=/var/lib/postroom PORT=8000
WORKDIR /app

RUN useradd --system --home /var/lib/postroom --create-home postroom
COPY pyproject.toml constraints.txt README.md ./
# The packages pyproject installs (postroom/tests/test_deploy.py keeps the two lists equal).
COPY core ./core
COPY accounts ./accounts
COPY audience ./audience
COPY content ./content
COPY sending ./sending
COPY campaigns ./campaigns
COPY tracking ./tracking
COPY automation ./automation
COPY subscriptions ./subscriptions
COPY webhooks ./webhooks
COPY notifications ./notifications
COPY archive ./archive
COPY postroom ./postroom
RUN pip install --no-cache-dir -c constraints.txt .
COPY . .
# Static files are collected at build time with throw-away secrets; nothing secret is baked in.
RUN DEBUG=False SECRET_KEY=build-only ENCRYPTION_KEYS=$(python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())') \
    python manage.py collectstatic --noinput -v 0

USER postroom
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request,os;urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health')"
CMD ["sh", "-c", "python manage.py migrate --noinput && exec python -m postroom.web --host 0.0.0.0 --port ${PORT} --workers 3 --access-log"]
