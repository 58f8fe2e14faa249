"""Outbox, inbox, Web Push and reminders."""
