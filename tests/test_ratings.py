"""The MovieLens loader's checks and the warm / cold split by time."""

import os

import numpy as np
import pandas as pd
import pytest

from tltf.data import DataError
from tltf.data.ratings import genre_shift, load_movielens, movie_texts, split_ratings

RATINGS = "userId,movieId,rating,timestamp\r\n1,1,4.0,100\r\n1,2,3.5,200\r\n2,1,5.0,150\r\n"
MOVIES = 'movieId,title,genres\r\n1,"Toy Story, the (1995)",Adventure|Comedy\r\n2,Heat (1995),(no genres listed)\r\n'
TAGS = "userId,movieId,tag,timestamp\r\n1,2,heist,300\r\n"


def _folder(tmp_path, ratings=RATINGS, movies=MOVIES, tags=TAGS):
    for name, text in (("ratings.csv", ratings), ("movies.csv", movies), ("tags.csv", tags)):
        (tmp_path / name).write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return tmp_path


def test_a_small_folder_reads_with_its_types(tmp_path):
    data = load_movielens(_folder(tmp_path))
    assert list(data.ratings.columns) == ["user", "movie", "rating", "time"]
    assert data.ratings.rating.tolist() == [4.0, 3.5, 5.0] and data.ratings.time.dtype == "int64"
    assert data.movies.title[0] == "Toy Story, the (1995)"
    assert data.movies.genres.tolist() == [("Adventure", "Comedy"), ()]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ratings": RATINGS.replace("3.5", "3.7")}, r"row 3: rating '3.7' is not one of"),
        ({"ratings": RATINGS.replace("3.5", "6")}, r"row 3: rating '6'"),
        ({"ratings": RATINGS.replace("1,2,3.5", "x,2,3.5")}, r"row 3: user 'x' is not a whole number"),
        ({"ratings": RATINGS.replace(",200", ",-5")}, r"time '-5' is not a whole number of at least 0"),
        ({"ratings": RATINGS + "1,1,2.0,400\r\n"}, r"user 1 rates movie 1 more than once"),
        ({"ratings": RATINGS + "2,9,2.0,400\r\n"}, r"1 row\(s\) name a movie not in movies.csv \(first: 9\)"),
        ({"tags": TAGS.replace("userId", "user")}, r"lacks the column\(s\) userId; it has user, movieId"),
        ({"movies": "movieId,title,genres\r\n"}, r"holds no rows"),
        ({"movies": b"movieId,title,genres\n1,Am\xe9lie,Drama\n"}, r"cannot be read as a UTF-8 CSV"),
        ({"movies": ""}, r"cannot be read as a UTF-8 CSV"),
    ],
)
def test_bad_files_are_named_in_plain_words(tmp_path, change, message):
    with pytest.raises(DataError, match=message):
        load_movielens(_folder(tmp_path, **change))


def test_a_missing_file_says_how_to_fetch_it(tmp_path):
    (_folder(tmp_path) / "tags.csv").unlink()
    with pytest.raises(DataError, match="tags.csv is missing.*tltf.assets fetch movielens_latest_small"):
        load_movielens(tmp_path)


@pytest.fixture(scope="module")
def movielens():
    if not os.environ.get("TLTF_ASSETS"):
        pytest.skip("needs the course's asset mirror")
    return load_movielens()


def test_the_course_copy_has_the_documented_counts(movielens):
    ratings = movielens.ratings
    assert (len(ratings), ratings.user.nunique(), ratings.movie.nunique()) == (100_836, 610, 9_724)
    assert (len(movielens.movies), len(movielens.tags)) == (9_742, 3_683)
    assert ratings.rating.min() == 0.5 and ratings.rating.max() == 5.0


def test_the_split_has_no_leak_in_time_and_no_cold_movie_in_training(movielens):
    split = split_ratings(movielens.ratings, test_fraction=0.2, cold_fraction=0.2, seed=3)
    assert not split.train.movie.isin(split.cold).any() and split.test_warm.movie.isin(split.train.movie).all()
    assert split.test_cold.movie.isin(split.cold).all() and not split.test_warm.movie.isin(split.cold).any()
    test = pd.concat([split.test_warm, split.test_cold])
    last_train, first_test = split.train.groupby("user").time.max(), test.groupby("user").time.min()
    both = last_train.index.intersection(first_test.index)
    assert (last_train[both] <= first_test[both]).all()
    assert test.user.nunique() == 610  # every user has test ratings
    assert len(split.cold) == round(0.2 * 9_724) and len(np.intersect1d(split.cold, split.train.movie)) == 0
    assert len(split.train) + len(test) < len(movielens.ratings)  # cold movies' training-period ratings dropped
    assert (split.test_starts[both] >= last_train[both]).all() and (split.test_starts <= first_test).all()
    other = split_ratings(movielens.ratings, seed=4)
    pd.testing.assert_series_equal(split.test_starts, other.test_starts)  # the time split has no seed


def test_the_split_leaves_its_input_alone_and_repeats_with_its_seed(movielens):
    before = movielens.ratings.copy()
    a, b = (split_ratings(movielens.ratings, seed=1) for _ in range(2))
    pd.testing.assert_frame_equal(movielens.ratings, before)
    assert np.array_equal(a.cold, b.cold) and not np.array_equal(a.cold, split_ratings(movielens.ratings, seed=2).cold)


def _pairs(table: pd.DataFrame) -> set:
    return set(zip(table.user, table.movie, strict=True))


@pytest.mark.parametrize("k", [1, 3])
def test_users_new_to_a_genre_keep_their_first_k_target_positives(movielens, k):
    shift = genre_shift(movielens.ratings, movielens.movies, {"Comedy"}, k, seed=2)
    ten = genre_shift(movielens.ratings, movielens.movies, {"Comedy"}, 10, seed=2)
    pd.testing.assert_frame_equal(shift.target_test, ten.target_test)  # the same test for every k
    assert set(shift.target_test.user) == set(shift.new_users)
    new_train = shift.target_train[shift.target_train.user.isin(shift.new_users)]
    assert (new_train.groupby("user").size() == k).all() and set(new_train.user) == set(shift.new_users)
    assert (new_train.groupby("user").time.max() <= shift.target_test.groupby("user").time.min()).all()
    assert not _pairs(shift.target_train) & _pairs(shift.target_test)
    assert not shift.source.movie.isin(shift.target_movies).any()
    assert shift.target_train.movie.isin(shift.target_movies).all()
    first_test = shift.source.user.map(shift.target_test.groupby("user").time.min())
    assert (shift.source.time[first_test.notna()] < first_test.dropna()).all()
    others = shift.target_train[~shift.target_train.user.isin(shift.new_users)]
    all_targets = movielens.ratings[(movielens.ratings.rating >= 4) & movielens.ratings.movie.isin(shift.target_movies)]
    assert len(others) == (~all_targets.user.isin(shift.new_users)).sum()  # everyone else keeps theirs
    # seen: what a new user rated before their test, all stars (their unused positives too), and no test pair
    assert not _pairs(shift.seen) & _pairs(shift.target_test)
    assert _pairs(new_train) <= _pairs(shift.seen) and _pairs(ten.target_train) <= _pairs(shift.seen)
    assert (shift.seen.rating < 4).any()


def test_genre_shift_refuses_what_it_cannot_do(movielens):
    with pytest.raises(ValueError, match="k must be between 1 and most_shots=10"):
        genre_shift(movielens.ratings, movielens.movies, {"Comedy"}, 0)
    with pytest.raises(ValueError, match="No movie has a genre of"):
        genre_shift(movielens.ratings, movielens.movies, {"Comdy"}, 1)
    with pytest.raises(ValueError, match="No user has 1005 or more positives"):
        genre_shift(movielens.ratings, movielens.movies, {"Comedy"}, 1, least_test=995)


def test_movie_texts_name_title_genres_and_distinct_tags(tmp_path):
    tags = TAGS + "2,2, Heist ,400\r\n2,2,Paris,500\r\n"
    data = load_movielens(_folder(tmp_path, tags=tags))
    assert movie_texts(data.movies, data.tags) == [
        "Toy Story, the (1995). Genres: Adventure, Comedy.",
        "Heat (1995). Genres: none. Tags: heist, paris.",
    ]
