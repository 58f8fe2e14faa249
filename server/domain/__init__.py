"""Pure domain rules: plain data in, plain data out. No session, no clock, no I/O."""
