"""Ratings: MovieLens ml-latest-small read, checked and split for recommendation.

``load_movielens`` returns the ratings (one row per user and movie: ``user``, ``movie``, ``rating`` in
[0.5, 5] by halves, ``time`` as UTC seconds), the movies (``movie``, ``title``, ``genres`` as a tuple of
names) and the tags (``user``, ``movie``, ``tag``, ``time``); ids are MovieLens's own. pandas reads the
files (titles hold quoted commas; the CSVs end their lines with CRLF).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tltf import assets
from tltf.data.examples import DataError

ASSET = "movielens_latest_small"
#: Each file, the columns it must have, and the names tltf gives them.
COLUMNS = {
    "ratings.csv": {"userId": "user", "movieId": "movie", "rating": "rating", "timestamp": "time"},
    "movies.csv": {"movieId": "movie", "title": "title", "genres": "genres"},
    "tags.csv": {"userId": "user", "movieId": "movie", "tag": "tag", "timestamp": "time"},
}
NO_GENRE = "(no genres listed)"


@dataclass(frozen=True)
class MovieLens:
    """The three tables of a MovieLens folder (see the module docstring for their columns)."""

    ratings: pd.DataFrame
    movies: pd.DataFrame
    tags: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"MovieLens: {len(self.ratings):,} ratings by {self.ratings.user.nunique():,} users of "
            f"{self.ratings.movie.nunique():,} movies ({len(self.movies):,} listed), {len(self.tags):,} tags"
        )


def _read(path: Path) -> pd.DataFrame:
    """One CSV with its columns checked and renamed (``COLUMNS``); DataError in plain words otherwise."""
    if not path.is_file():
        raise DataError(f"{path} is missing. Fetch the data again: python -m tltf.assets fetch {ASSET}")
    try:
        table = pd.read_csv(path, encoding="utf-8", dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path} cannot be read as a UTF-8 CSV file ({err}). Restore it from the asset.") from None
    wanted = COLUMNS[path.name]
    if missing := [c for c in wanted if c not in table.columns]:
        raise DataError(f"{path} lacks the column(s) {', '.join(missing)}; it has {', '.join(table.columns)}.")
    return table[list(wanted)].rename(columns=wanted)


def _integers(table: pd.DataFrame, column: str, path: Path, minimum: int) -> None:
    """Convert ``table[column]`` to int64 in place; DataError naming the first bad row otherwise."""
    values = pd.to_numeric(table[column], errors="coerce")
    bad = values.isna() | (values != values.round()) | (values < minimum)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}, row {row + 2}: {column} {table[column].iloc[row]!r} is not a whole number of at least {minimum}."
        )
    table[column] = values.astype("int64")


def load_movielens(folder: str | Path | None = None) -> MovieLens:
    """Read and check a MovieLens folder (default: the course's copy, fetched if needed).

    Checks: the files and their columns are there; ids and times are whole numbers (ids from 1, times
    from 0); ratings lie in [0.5, 5] by halves; each user rates a movie at most once; every rated or
    tagged movie is listed in movies.csv. Each failure raises DataError naming the file and row.
    """
    folder = Path(folder) if folder is not None else assets.fetch(ASSET, quiet=True)
    tables = {name: _read(folder / name) for name in COLUMNS}
    ratings, movies, tags = tables["ratings.csv"], tables["movies.csv"], tables["tags.csv"]
    for table, name in ((ratings, "ratings.csv"), (movies, "movies.csv"), (tags, "tags.csv")):
        for column in ("user", "movie", "time"):
            if column in table:
                _integers(table, column, folder / name, 0 if column == "time" else 1)
    if ratings.empty or movies.empty:
        raise DataError(f"{folder}: ratings.csv or movies.csv holds no rows. Restore the files from the asset.")
    stars = pd.to_numeric(ratings["rating"], errors="coerce")
    if (bad := stars.isna() | (stars < 0.5) | (stars > 5) | (stars * 2 != (stars * 2).round())).any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{folder / 'ratings.csv'}, row {row + 2}: rating {ratings['rating'].iloc[row]!r} is not one of "
            "0.5, 1, ..., 5."
        )
    ratings["rating"] = stars.astype("float32")
    if (twice := ratings.duplicated(["user", "movie"])).any():
        user, movie = ratings.loc[twice, ["user", "movie"]].to_numpy()[0]
        raise DataError(
            f"{folder / 'ratings.csv'}: user {user} rates movie {movie} more than once "
            f"({int(twice.sum())} repeated pair(s)). Keep one rating per user and movie."
        )
    if movies.movie.duplicated().any():
        raise DataError(f"{folder / 'movies.csv'} lists movie {movies.movie[movies.movie.duplicated()].iloc[0]} twice.")
    for table, name in ((ratings, "ratings.csv"), (tags, "tags.csv")):
        if (unknown := ~table.movie.isin(movies.movie)).any():
            raise DataError(
                f"{folder / name}: {int(unknown.sum())} row(s) name a movie not in movies.csv "
                f"(first: {table.movie[unknown].iloc[0]}). Restore the files from the asset."
            )
    movies["genres"] = [tuple(g for g in text.split("|") if g and g != NO_GENRE) for text in movies.genres]
    ratings = ratings.sort_values(["user", "time", "movie"], kind="stable").reset_index(drop=True)
    return MovieLens(ratings, movies.reset_index(drop=True), tags.reset_index(drop=True))


@dataclass(frozen=True)
class RatingSplit:
    """Training ratings and the test ratings of warm and cold movies (``ratings`` rows), and the cold movies' ids.

    No rating of a cold movie is in ``train``; each user's test ratings are later than (or as late as) every
    training rating of theirs.
    """

    train: pd.DataFrame
    test_warm: pd.DataFrame
    test_cold: pd.DataFrame
    cold: np.ndarray

    def __repr__(self) -> str:
        return (
            f"{len(self.train):,} training ratings; test: {len(self.test_warm):,} of warm movies, "
            f"{len(self.test_cold):,} of {len(self.cold):,} cold movies"
        )


def split_ratings(
    ratings: pd.DataFrame, *, test_fraction: float = 0.2, cold_fraction: float = 0.2, seed: int = 0
) -> RatingSplit:
    """Split by time per user, then hold out movies entirely.

    Each user's last ``test_fraction`` of ratings by time (at least one) are their test ratings. A seeded
    ``cold_fraction`` of the rated movies become cold: their training-period ratings are dropped (used
    nowhere) and their test ratings form ``test_cold``. ``ratings`` as ``load_movielens`` gives them
    (sorted by user and time); it is not changed.
    """
    if not 0 < test_fraction < 1 or not 0 <= cold_fraction < 1:
        raise ValueError(
            f"test_fraction must be in (0, 1) and cold_fraction in [0, 1); got {test_fraction}, {cold_fraction}."
        )
    ordered = ratings.sort_values(["user", "time", "movie"], kind="stable")
    position = ordered.groupby("user").cumcount(ascending=False)  # 0 for each user's last rating
    count = ordered.groupby("user")["movie"].transform("size")
    is_test = position < np.maximum(1, np.ceil(test_fraction * count))
    movies = np.sort(ordered.movie.unique())
    rng = np.random.default_rng(seed)
    cold = np.sort(rng.choice(movies, size=round(cold_fraction * len(movies)), replace=False))
    is_cold = ordered.movie.isin(cold)
    masks = (~is_test & ~is_cold, is_test & ~is_cold, is_test & is_cold)
    return RatingSplit(*(ordered[mask].reset_index(drop=True) for mask in masks), cold)
