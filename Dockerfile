# One image for web (and, from the deadlines issue on, the Celery worker and beat).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY portal portal
COPY officials officials
COPY requests_app requests_app
COPY compliance compliance
RUN pip install --no-cache-dir .
COPY . .
RUN python manage.py collectstatic --noinput
EXPOSE 8000
