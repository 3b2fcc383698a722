"""The Celery worker: task registration and the embedded in-process worker."""

from backend.worker.tasks import celery_app, register_tasks

__all__ = ["celery_app", "register_tasks"]
