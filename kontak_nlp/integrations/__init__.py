"""Optional integrations with other engines. Each submodule imports its engine only when used.

* :mod:`kontak_nlp.integrations.ray`: batch inference on Ray Data, one machine or a cluster
  (``pip install "kontak-nlp[ray]"``).

Importing this package (or ``kontak_nlp``) never imports an engine.

Example:
    >>> from kontak_nlp.integrations.ray import classify_dataset  # doctest: +SKIP
"""

from __future__ import annotations

__all__: list[str] = []
