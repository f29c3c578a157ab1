from django.db import models


class Hit(models.Model):
    """One recorded visit: the page that reads and writes the database."""

    environment = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"hit {self.pk} ({self.environment})"
