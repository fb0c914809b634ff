# Backend image: gunicorn (web), Celery worker, beat and Flower share it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app app
COPY workers workers
COPY migrations migrations
COPY wsgi.py celery_app.py ./
RUN useradd --create-home cineverse && mkdir -p /data/tickets && chown cineverse /data/tickets
USER cineverse
EXPOSE 8000
# gevent workers for the API and the seat WebSockets alike (app/gunicorn_conf.py; WEB_CONCURRENCY = workers)
CMD ["gunicorn", "-c", "app/gunicorn_conf.py", "--bind", "0.0.0.0:8000", "wsgi:app"]
