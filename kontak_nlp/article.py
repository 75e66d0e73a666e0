"""Compatibility path: whole-article classification lives in :mod:`kontak_nlp.text.article`.

Example:
    >>> from kontak_nlp.article import read_example_article
    >>> read_example_article().splitlines()[0] != ""
    True
"""

from kontak_nlp.text.article import (
    LABEL_COLOURS,
    ArticleResult,
    LabeledSentence,
    classify_article,
    read_example_article,
)

__all__ = ["LABEL_COLOURS", "ArticleResult", "LabeledSentence", "classify_article", "read_example_article"]
