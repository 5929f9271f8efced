# One image for the web process (gunicorn), the Celery worker and the one beat.
FROM python:3.11-slim
# PYTHONPATH: the code in /app (with its templates, static files and catalogues) wins over the
# copy pip installed, for gunicorn and celery alike.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app \
    QINQING_VAR_DIR=/app/var QINQING_MEDIA_ROOT=/data/media
WORKDIR /app
# Pango for WeasyPrint's PDF reports, and CJK fonts so that Chinese text renders in them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
# Dependencies first, so that a change to the code alone reuses this layer.
COPY pyproject.toml README.md ./
COPY portal portal
COPY officials officials
COPY requests_app requests_app
COPY compliance compliance
COPY reports reports
RUN pip install --no-cache-dir .
COPY . .
# Hashed static files for whitenoise; collectstatic needs settings, not a real secret or database.
RUN QINQING_PRODUCTION=true DJANGO_SECRET_KEY=collectstatic-only \
    QINQING_TIMELINE_KEY=collectstatic-only QINQING_CHECKPOINT_KEY=collectstatic-only \
    python manage.py collectstatic --noinput
# Run as an unprivileged user that owns only what it must write: var/ and the uploads.
RUN useradd --system --uid 10001 --home-dir /app qinqing \
    && mkdir -p /app/var /data/media /data/checkpoints \
    && chown -R qinqing /app/var /data/media /data/checkpoints
USER qinqing
VOLUME ["/data/media", "/data/checkpoints"]
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--config", "python:portal.gunicorn"]
