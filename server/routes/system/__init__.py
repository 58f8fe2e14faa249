"""Health, PWA root files, metrics and the landing page."""
