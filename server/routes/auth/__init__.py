"""Sign-in, sessions, tokens and accounts."""
