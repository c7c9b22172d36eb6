"""Tools around the service: the benchmark (``voc bench``) and the hostile reliability suite."""
