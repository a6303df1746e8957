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


def _first(bad: pd.Series) -> int:
    """Position of the first True in ``bad`` (a file's row number is that + 2: the header, then from 1)."""
    return int(np.flatnonzero(bad.to_numpy())[0])


def _integers(table: pd.DataFrame, column: str, path: Path, minimum: int) -> None:
    """Convert ``table[column]`` to int64 in place; DataError naming the first bad row otherwise."""
    values = pd.to_numeric(table[column], errors="coerce")
    bad = values.isna() | (values != values.round()) | (values < minimum)
    if bad.any():
        row = _first(bad)
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
    for name, table in tables.items():
        for column in ("user", "movie", "time"):
            if column in table:
                _integers(table, column, folder / name, 0 if column == "time" else 1)
    ratings, movies, tags = tables.values()
    if ratings.empty or movies.empty:
        raise DataError(f"{folder}: ratings.csv or movies.csv holds no rows. Restore the files from the asset.")
    stars = pd.to_numeric(ratings["rating"], errors="coerce")
    if (bad := stars.isna() | (stars < 0.5) | (stars > 5) | (stars * 2 != (stars * 2).round())).any():
        row = _first(bad)
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

    Every movie of ``test_warm`` has training ratings; no rating of a cold movie is in ``train`` (some cold
    movies have no test rating either). Each user's test ratings are as late as or later than every
    training rating of theirs.
    """

    train: pd.DataFrame
    test_warm: pd.DataFrame
    test_cold: pd.DataFrame
    cold: np.ndarray
    #: Each user's first test rating's time (index: user): what happened before it is their past.
    test_starts: pd.Series

    def __repr__(self) -> str:
        return (
            f"{len(self.train):,} training ratings; test: {len(self.test_warm):,} of warm movies, "
            f"{len(self.test_cold):,} of cold movies ({self.test_cold.movie.nunique():,} of the "
            f"{len(self.cold):,} held out)"
        )


def split_ratings(
    ratings: pd.DataFrame, *, test_fraction: float = 0.2, cold_fraction: float = 0.2, seed: int = 0
) -> RatingSplit:
    """Split by time per user, then hold out movies entirely.

    Each user's last ``test_fraction`` of ratings by time (at least one) are their test ratings. A seeded
    ``cold_fraction`` of the rated movies become cold: their training-period ratings are dropped (used
    nowhere) and their test ratings form ``test_cold``. Test ratings of the other movies form ``test_warm``
    when the movie has training ratings; those of movies first rated in the test period are used nowhere
    (they are neither held out nor known). ``test_starts``: when each user's test period begins (it does
    not depend on ``seed``). ``ratings`` as ``load_movielens`` gives them; it is not changed.
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
    train = ordered[~is_test & ~is_cold]
    known = ordered.movie.isin(train.movie)
    parts = (train, ordered[is_test & known], ordered[is_test & is_cold])
    starts = ordered[is_test].groupby("user").time.min()
    return RatingSplit(*(part.reset_index(drop=True) for part in parts), cold, starts)


@dataclass(frozen=True)
class GenreShift:
    """Users who move to a new genre (``ratings`` rows, positives only): see ``genre_shift``."""

    source: pd.DataFrame
    target_train: pd.DataFrame
    target_test: pd.DataFrame
    new_users: np.ndarray
    target_movies: np.ndarray
    #: Every rating (any stars) that a user made before their test period began (for a new user: up to the
    #: time of their first test positive, test positives excluded; for the others: all): not candidates.
    seen: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"{len(self.new_users)} users new to the target ({len(self.target_movies):,} movies): "
            f"{len(self.source):,} source positives, {len(self.target_train):,} target training positives, "
            f"{len(self.target_test):,} target test positives"
        )


def genre_shift(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    target: set[str],
    k: int,
    *,
    most_shots: int = 10,
    least_test: int = 5,
    new_share: float = 0.5,
    positive: float = 4.0,
    seed: int = 0,
) -> GenreShift:
    """A source domain (movies of no ``target`` genre) and a target domain (movies of any), with a seeded
    ``new_share`` of the users who have at least ``most_shots + least_test`` target positives made new to it.

    A new user keeps only their first ``k`` target positives by time for training (``k <= most_shots``);
    their positives after the ``most_shots``-th are the test, the same for every ``k``. The other users keep
    all their target positives for training. Source positives of every user are kept if earlier than that
    user's first test positive. Positives: ratings of ``positive`` or more. ``seen``: what each user had
    already rated when their test began, at any rating (their later positives 2..10 when k = 1, too): a
    recommender knows what a person watched even when it has not trained on it, and does not propose it
    again. ``ratings`` is not changed.
    """
    if not 1 <= k <= most_shots:
        raise ValueError(f"k must be between 1 and most_shots={most_shots}; got {k}.")
    target_movies = movies.movie[[bool(target & set(g)) for g in movies.genres]].to_numpy()
    if len(target_movies) == 0:
        raise ValueError(f"No movie has a genre of {sorted(target)}.")
    positives = ratings[ratings.rating >= positive].sort_values(["user", "time", "movie"], kind="stable")
    in_target = positives.movie.isin(target_movies)
    targets = positives[in_target]
    order = targets.groupby("user").cumcount()
    counts = targets.groupby("user").size()
    eligible = np.sort(counts.index[counts >= most_shots + least_test].to_numpy())
    if len(eligible) == 0:
        raise ValueError(f"No user has {most_shots + least_test} or more positives in {sorted(target)}.")
    rng = np.random.default_rng(seed)
    new_users = np.sort(rng.choice(eligible, size=round(new_share * len(eligible)), replace=False))
    is_new = targets.user.isin(new_users)
    test = targets[is_new & (order >= most_shots)]
    train = targets[~is_new | (order < k)]
    starts = test.groupby("user").time.min()
    source = positives[~in_target & (positives.time < positives.user.map(starts).fillna(np.inf))]
    before = ratings.time <= ratings.user.map(starts).fillna(np.inf)
    in_test = ratings.set_index(["user", "movie"]).index.isin(test.set_index(["user", "movie"]).index)
    seen = ratings[before & ~in_test]
    parts = (t.reset_index(drop=True) for t in (source, train, test))
    return GenreShift(*parts, new_users, target_movies, seen.reset_index(drop=True))


def movie_texts(movies: pd.DataFrame, tags: pd.DataFrame) -> list[str]:
    """One text per row of ``movies`` for a sentence encoder: "Title (1995). Genres: Comedy, Romance. Tags:
    funny, paris." with each movie's distinct tags, lower-cased, in the order first given ("Genres: none"
    when it lists none; no "Tags" part when nobody tagged it)."""
    tagged = tags.assign(tag=tags.tag.astype(str).str.strip().str.lower())
    tagged = tagged[tagged.tag != ""].groupby("movie").tag.agg(lambda t: ", ".join(dict.fromkeys(t)))
    texts = []
    for movie, title, genres in zip(movies.movie, movies.title, movies.genres, strict=True):
        text = f"{title.strip()}. Genres: {', '.join(genres) or 'none'}."
        texts.append(text + (f" Tags: {tagged[movie]}." if movie in tagged.index else ""))
    return texts
