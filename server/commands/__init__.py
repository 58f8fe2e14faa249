"""Sub-commands of `fieldsales` (server/cli.py adds them), one module per purpose."""
