"""Sentences: the UCI Sentiment Labelled Sentences (three review domains), read and split.

Each example has a ``texts``, a ``labels`` (0 negative, 1 positive) and a ``domains`` column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tltf import assets
from tltf.data.examples import DataError, Examples, Splits, per_class_index, split_index
from tltf.settings import is_quick

#: The three review domains and their files in the ``sentiment_sentences`` asset.
SENTIMENT_FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}
SENTIMENT_CLASSES = ["negative", "positive"]
#: Quick mode keeps this many sentences per domain and label (before splitting).
QUICK_SENTENCES = 40


def read_labelled_sentences(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Parse a ``sentence<TAB>label`` file: (sentences, int64 labels of shape (n,)).

    Each line is split on its *last* tab, so quotes and tabs inside a sentence are kept as they are
    (CSV readers with default quoting merge IMDb rows). Surrounding white space is stripped; blank
    lines are ignored. A line
    without a tab or with a label other than 0/1 raises DataError naming the file and line.
    """
    path = Path(path)
    texts, labels = [], []
    # Split on "\n" only: str.splitlines() also breaks at U+0085, which two IMDb sentences contain.
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        text, tab, label = line.rpartition("\t")
        if not tab or label.strip() not in ("0", "1") or not text.strip():
            raise DataError(
                f"{path}, line {number}: expected 'sentence<TAB>0' or 'sentence<TAB>1', got "
                f"{line[:80]!r}. Fix the line, or restore the file from the asset mirror."
            )
        texts.append(text.strip())
        labels.append(int(label))
    if not texts:
        raise DataError(f"{path} holds no sentences.")
    return texts, np.array(labels, dtype="int64")


def load_sentences(root: str | Path | None = None, *, verbose: bool = True) -> Examples:
    """All labelled sentences of the three domains (3 x 1,000), from ``root`` or the asset registry."""
    root = Path(root) if root is not None else assets.fetch("sentiment_sentences", quiet=not verbose)
    texts, labels, domains = [], [], []
    for name, file in SENTIMENT_FILES.items():
        t, y = read_labelled_sentences(root / file)
        texts += t
        labels.append(y)
        domains += [name] * len(t)
    return Examples(texts=np.array(texts, dtype=object), labels=np.concatenate(labels), domains=np.array(domains))


def load_sentiment(*, quick: bool | None = None, seed: int = 42, verbose: bool = True) -> Splits:
    """The three sentiment domains pooled and split 60/20/20, stratified by domain and label.

    ``.where(domains=name)`` gives one domain's part of each split, so every domain has its own held-out
    test sentences and the pooled test split is their union. Quick mode keeps ``QUICK_SENTENCES``
    per domain and label.
    """

    def strata(s: Examples) -> np.ndarray:  # one stratum per (domain, label)
        return np.unique(s.domains, return_inverse=True)[1] * 2 + s.labels

    sentences = load_sentences(verbose=verbose)
    if is_quick(quick):
        sentences = sentences.take(per_class_index(strata(sentences), QUICK_SENTENCES, seed, what="sentences"))
    train, val, test = split_index(strata(sentences), seed=seed, what="the sentiment sentences")
    parts = (sentences.take(train), sentences.take(val), sentences.take(test))
    return Splits(*parts, list(SENTIMENT_CLASSES), by=("domains",))
