"""Article text: sentence segmentation, site furniture, scraped text, HTML pages and URLs.

* :func:`segment` splits an article (text, scraped markdown or HTML) into sentence units with offsets
  and sets site furniture aside with its kind;
* :func:`classify_article` classifies the sentences of an article given as text, HTML or a URL;
* :func:`extract_page` and :func:`fetch_page` give a page's main text and metadata.

Example:
    >>> from kontak_nlp.text import segment
    >>> [s.text for s in segment("Menlu tiba. [video.1] Ia disambut.")]
    ['Menlu tiba.', 'Ia disambut.']
"""

from __future__ import annotations

from kontak_nlp.text.article import ArticleResult, LabeledSentence, classify_article
from kontak_nlp.text.boilerplate import is_boilerplate
from kontak_nlp.text.fetch import FetchConfig, FetchError, fetch_page
from kontak_nlp.text.html import Page, extract_page
from kontak_nlp.text.segment import Segmentation, SegmenterConfig, Sentence, segment, split_sentences

__all__ = [
    "ArticleResult",
    "FetchConfig",
    "FetchError",
    "LabeledSentence",
    "Page",
    "Segmentation",
    "SegmenterConfig",
    "Sentence",
    "classify_article",
    "extract_page",
    "fetch_page",
    "is_boilerplate",
    "segment",
    "split_sentences",
]
