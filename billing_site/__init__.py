"""The MVNO billing platform's Django project."""

from billing_site.celery import app as celery_app

__all__ = ["celery_app"]
