"""The researcher's loop around the model: what to label next (``voc suggest``), which labels look wrong
(``voc audit``), how well picking by uncertainty pays off (``python -m voc.research.simulate``), and what
changed between retrains (``voc models``). See docs/researcher.md.

Modules: ``features`` (frozen-encoder embeddings, cached, and the cheap per-head model), ``selection``
(uncertainty and diversity), ``suggest``, ``audit``, ``simulate``, ``history``, ``cli``.
"""
