"""Scheduled jobs: one module per job, registered with @job and runnable by name."""
