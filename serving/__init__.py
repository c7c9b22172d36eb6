"""Serving: the BentoML HTTP service for the helpdesk and the batch scorer for review exports."""
