"""The escalation ladder, its inbox and managers' digests."""
