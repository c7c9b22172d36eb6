"""The HTTP service: what the Bento ships (BentoML service, request contract, guards, pages, metrics)."""
