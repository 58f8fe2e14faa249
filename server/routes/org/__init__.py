"""The executive's organisation view."""
