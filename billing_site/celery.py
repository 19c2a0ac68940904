"""The Celery application: bill runs, PDF documents, mediation of large files."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_site.settings.local")

app = Celery("billing_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
