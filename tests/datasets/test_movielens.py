"""Tests of the MovieLens loaders: bundled latest-small, fetch from a data home,
download (with a fake ``urlopen``) and the real MovieLens 1M (slow)."""

import gzip
import hashlib
import io
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec.datasets import fetch_movielens, load_movielens_small
from sklearn_metarec.datasets._base import bundled_path
from sklearn_metarec.datasets._movielens import BASE_URL

SMALL_COLUMNS = ["user_id", "item_id", "timestamp", "title", "genres", "tags"]
ML1M_COLUMNS = [
    "user_id",
    "item_id",
    "timestamp",
    "title",
    "genres",
    "gender",
    "age",
    "occupation",
    "zip",
]
EXTRA_COLUMNS = ["year", "rated", "director", "writer", "actors", "plot"]

# SHA-256 of the original ml-latest-small files (its SHA256SUMS): the bundle is a
# byte-exact gzip of them.
BUNDLE_SHA256 = {
    "ratings": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
    "movies": "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
    "tags": "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d",
}


def assert_categorical(frame, columns):
    for name in columns:
        assert isinstance(frame[name].dtype, pd.CategoricalDtype), name


# --------------------------------------------------------------------------------------
# load_movielens_small (bundled, offline)


@pytest.fixture(scope="module")
def small():
    return load_movielens_small()


def test_small_counts_and_columns(small):
    X, y = small.data, small.target
    assert X.shape == (100_836, 6)
    assert list(X.columns) == SMALL_COLUMNS == small.feature_names
    assert small.target_names == ["rating"]
    assert X["user_id"].nunique() == 610
    assert X["item_id"].nunique() == 9_724
    assert small.item_frame.shape == (9_742, 3)
    assert small.item_frame.index.name == "item_id"
    assert small.item_frame.index.is_unique
    assert small.user_frame.shape == (610, 0)
    assert small.frame.shape == (100_836, 7)
    assert small.frame.columns[-1] == "rating"
    assert y.name == "rating" and y.dtype == np.float64
    assert y.min() == 0.5 and y.max() == 5.0
    assert set(np.unique(y * 2)) <= set(range(1, 11))
    assert "GroupLens" in small.DESCR and "Harper" in small.DESCR


def test_small_dtypes(small):
    X = small.data
    for name in ("user_id", "item_id", "timestamp"):
        assert X[name].dtype == np.int64
    assert_categorical(X, ["title", "genres", "tags"])
    assert_categorical(small.item_frame, ["title", "genres", "tags"])
    assert not X[["title", "genres", "tags"]].isna().any().any()


def test_small_rows_in_file_order(small):
    with gzip.open(bundled_path("ml_latest_small_ratings.csv.gz"), "rt") as f:
        raw = pd.read_csv(f)
    np.testing.assert_array_equal(small.data["user_id"], raw["userId"])
    np.testing.assert_array_equal(small.data["item_id"], raw["movieId"])
    np.testing.assert_array_equal(small.data["timestamp"], raw["timestamp"])
    np.testing.assert_array_equal(small.target, raw["rating"])
    first = small.data.iloc[0]
    assert (first["user_id"], first["item_id"]) == (1, 1)
    assert first["title"] == "Toy Story (1995)"
    assert first["genres"] == "Adventure|Animation|Children|Comedy|Fantasy"


def test_small_side_information_matches_item_frame(small):
    X, items = small.data, small.item_frame
    for name in ("title", "genres", "tags"):
        expected = items[name].reindex(X["item_id"]).to_numpy()
        np.testing.assert_array_equal(X[name].to_numpy(), expected)


def test_small_tags_joined_distinct_and_empty_when_missing(small):
    tags = small.item_frame["tags"]
    assert tags.loc[1] == "pixar|fun"
    # Tags applied by several users appear once.
    assert all(
        len(set(t.split("|"))) == len(t.split("|")) for t in tags.astype(str) if t
    )
    n_tagged = (tags != "").sum()
    assert n_tagged == 1_572
    assert (tags == "").sum() == 9_742 - n_tagged


def test_small_accented_title(small):
    titles = set(small.item_frame["title"])
    assert "Misérables, Les (1995)" in titles


def test_small_return_X_y_and_as_frame(small):
    X, y = load_movielens_small(return_X_y=True)
    pd.testing.assert_frame_equal(X, small.data)
    pd.testing.assert_series_equal(y, small.target)

    bunch = load_movielens_small(as_frame=False)
    assert bunch.frame is None
    assert isinstance(bunch.data, np.ndarray) and bunch.data.shape == (100_836, 6)
    assert isinstance(bunch.target, np.ndarray) and bunch.target.dtype == np.float64
    assert bunch.data[0, 3] == "Toy Story (1995)"
    X, y = load_movielens_small(return_X_y=True, as_frame=False)
    assert isinstance(X, np.ndarray) and isinstance(y, np.ndarray)


def test_small_calls_are_independent():
    first = load_movielens_small()
    first.data.loc[0, "user_id"] = -1
    first.item_frame.loc[1, "genres"] = "Drama"
    second = load_movielens_small()
    assert second.data.loc[0, "user_id"] == 1
    assert second.item_frame.loc[1, "genres"] != "Drama"


@pytest.mark.parametrize("name", sorted(BUNDLE_SHA256))
def test_bundle_is_byte_exact_copy(name):
    with gzip.open(bundled_path(f"ml_latest_small_{name}.csv.gz"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == BUNDLE_SHA256[name]


def test_bundle_ships_licence():
    text = bundled_path("ml_latest_small_README.txt").read_text(encoding="utf-8")
    assert "Usage License" in text
    assert "may redistribute the data set" in text


# --------------------------------------------------------------------------------------
# fetch_movielens on small hand-written data homes

FAKE_1M = {
    "ratings.dat": b"1::1::5::978300760\n1::73::3::978302109\n2::1::4::978301968\n"
    b"2::3::2::978300275\n",
    "movies.dat": "1::Toy Story (1995)::Animation|Children's|Comedy\n"
    "3::Grumpier Old Men (1995)::Comedy|Romance\n"
    "73::Misérables, Les (1995)::Drama|Musical\n"
    "99::Heidi Fleiss: Hollywood Madam (1995)::Documentary\n".encode("latin-1"),
    "users.dat": b"1::F::1::10::48067\n2::M::56::16::70072\n",
}
FAKE_EXTRA = (
    "1::Toy Story::1995::G::22 Nov 1995::Animation::John Lasseter::Joss Whedon::"
    "Tom Hanks, Tim Allen::Toys come to life.::https://x/1.jpg\r\n"
    "73::Les Misérables::N/A::R::N/A::Drama::Claude Lelouch::N/A::"
    'Jean-Paul Belmondo::Henri Fortin, "boxer".::N/A\r\n'
).encode()
FAKE_100K = {
    "u.data": b"1\t1\t5\t874965758\n2\t2\t3\t876893171\n1\t2\t4\t878542960\n",
    "u.item": (
        "1|Toy Story (1995)|01-Jan-1995||http://imdb/1|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0"
        "|0|0|0|0\n"
        "2|Misérables, Les (1995)|01-Jan-1995||http://imdb/2|0|0|0|0|0|0|0|0|1|0|0|0"
        "|1|0|0|0|0|0|0\n"
        "3|unknown|||http://imdb/3|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    ).encode("latin-1"),
    "u.user": b"1|24|M|technician|85711\n2|53|F|other|94043\n",
}
FAKE_LATEST = {
    "ratings.csv": b"userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n"
    b"1,2,3.5,964981247\r\n2,2,0.5,964982224\r\n",
    "movies.csv": 'movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n2,"Misérables, '
    'Les (1995)",Drama\r\n3,NA,(no genres listed)\r\n'.encode(),
    "tags.csv": b"userId,movieId,tag,timestamp\r\n2,1,pixar,1\r\n2,1,fun,2\r\n"
    b"3,1,pixar,3\r\n",
}


def write_folder(path, files):
    path.mkdir(parents=True)
    for name, content in files.items():
        (path / name).write_bytes(content)


def make_zip(folder, files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"{folder}/", "")
        for name, content in files.items():
            zf.writestr(f"{folder}/{name}", content)
    return buffer.getvalue()


def test_fetch_1m_from_data_home(tmp_path):
    write_folder(tmp_path / "ml-1m", FAKE_1M)
    bunch = fetch_movielens("1m", data_home=tmp_path, download_if_missing=False)
    X = bunch.data
    assert list(X.columns) == ML1M_COLUMNS
    assert X["user_id"].tolist() == [1, 1, 2, 2]
    assert X["item_id"].tolist() == [1, 73, 1, 3]
    assert bunch.target.tolist() == [5.0, 3.0, 4.0, 2.0]
    assert X.loc[1, "title"] == "Misérables, Les (1995)"  # latin-1
    assert_categorical(X, ["title", "genres", "gender", "occupation", "zip"])
    assert X["age"].dtype == np.int64
    assert X["occupation"].tolist() == [
        "K-12 student",
        "K-12 student",
        "self-employed",
        "self-employed",
    ]
    assert bunch.user_frame["occupation"].cat.codes.tolist() == [10, 16]
    # Every movie of movies.dat, including the unrated 99.
    assert bunch.item_frame.index.tolist() == [1, 3, 73, 99]
    assert list(bunch.item_frame.columns) == ["title", "genres"]
    assert list(bunch.user_frame.columns) == ["gender", "age", "occupation", "zip"]
    assert "may NOT be redistributed" in bunch.DESCR


def test_fetch_1m_merges_extra_info(tmp_path):
    write_folder(tmp_path / "ml-1m", FAKE_1M)
    (tmp_path / "ml-1m-melu-extrainfo").mkdir()
    (tmp_path / "ml-1m-melu-extrainfo" / "movies_extrainfos.dat").write_bytes(
        FAKE_EXTRA
    )
    bunch = fetch_movielens("1m", data_home=tmp_path, download_if_missing=False)
    X, items = bunch.data, bunch.item_frame
    assert list(X.columns) == ML1M_COLUMNS + EXTRA_COLUMNS
    assert_categorical(X, EXTRA_COLUMNS[1:])
    assert X["year"].dtype == np.float64
    assert items.loc[1, "year"] == 1995
    assert items.loc[1, "plot"] == "Toys come to life."  # no trailing "\r"
    assert items.loc[1, "actors"] == "Tom Hanks, Tim Allen"
    assert items.loc[73, "plot"] == 'Henri Fortin, "boxer".'
    assert items.loc[1, "title"] == "Toy Story (1995)"  # movies.dat title kept
    # "N/A" and movies without an entry are missing.
    assert np.isnan(items.loc[73, "year"])
    assert pd.isna(items.loc[73, "writer"])
    assert items.loc[[3, 99], EXTRA_COLUMNS].isna().all().all()
    assert X.loc[3, EXTRA_COLUMNS].isna().all()  # item 3 has no extra info


def test_fetch_100k_from_data_home(tmp_path):
    write_folder(tmp_path / "ml-100k", FAKE_100K)
    X, y = fetch_movielens("100k", data_home=tmp_path, return_X_y=True)
    assert list(X.columns) == ML1M_COLUMNS
    assert y.tolist() == [5.0, 3.0, 4.0]
    assert X["genres"].tolist() == [
        "Animation|Children's|Comedy",
        "Drama|Musical",
        "Drama|Musical",
    ]
    assert X.loc[1, "title"] == "Misérables, Les (1995)"
    assert X["age"].tolist() == [24, 53, 24]
    assert X["occupation"].tolist() == ["technician", "other", "technician"]
    assert_categorical(X, ["title", "genres", "gender", "occupation", "zip"])
    bunch = fetch_movielens("100k", data_home=tmp_path)
    assert bunch.item_frame.loc[3, "genres"] == "unknown"


def test_fetch_latest_small_from_data_home(tmp_path):
    write_folder(tmp_path / "ml-latest-small", FAKE_LATEST)
    bunch = fetch_movielens("latest-small", data_home=tmp_path)
    assert list(bunch.data.columns) == SMALL_COLUMNS
    assert bunch.target.tolist() == [4.0, 3.5, 0.5]
    items = bunch.item_frame
    assert items.loc[1, "tags"] == "pixar|fun"
    assert items.loc[2, "tags"] == ""
    assert items.loc[2, "title"] == "Misérables, Les (1995)"
    assert items.loc[3, "title"] == "NA"  # never parsed as missing
    assert bunch.user_frame.index.tolist() == [1, 2]


def test_data_home_from_environment(tmp_path, monkeypatch):
    write_folder(tmp_path / "ml-100k", FAKE_100K)
    monkeypatch.setenv("SKLEARN_METAREC_DATA", str(tmp_path))
    X, _ = fetch_movielens("100k", return_X_y=True, download_if_missing=False)
    assert len(X) == 3


@pytest.mark.parametrize("variant", ["10m", "ml-1m", "1M", "", None, 1, ["1m"]])
def test_bad_variant_names_allowed_variants(variant, tmp_path):
    with pytest.raises(ValueError, match=r"'100k', '1m', 'latest-small'"):
        fetch_movielens(variant, data_home=tmp_path)


def test_missing_and_download_not_allowed(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):  # pragma: no cover - must not be called
        raise AssertionError("urlopen called")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(OSError, match="download_if_missing=False") as info:
        fetch_movielens("1m", data_home=tmp_path, download_if_missing=False)
    assert str(tmp_path / "ml-1m") in str(info.value)
    assert f"{BASE_URL}ml-1m.zip" in str(info.value)


def test_incomplete_folder_is_an_oserror(tmp_path):
    files = dict(FAKE_1M)
    del files["users.dat"]
    write_folder(tmp_path / "ml-1m", files)
    with pytest.raises(OSError, match="users.dat"):
        fetch_movielens("1m", data_home=tmp_path)


class FakeURLOpen:
    """Stands in for ``urllib.request.urlopen``: serves fixed bytes, logs URLs."""

    def __init__(self, payload):
        self.payload = payload
        self.urls = []

    def __call__(self, url, *args, **kwargs):
        self.urls.append(url)
        return io.BytesIO(self.payload)


@pytest.mark.parametrize(
    "variant, folder, files, n_ratings",
    [
        ("1m", "ml-1m", FAKE_1M, 4),
        ("100k", "ml-100k", FAKE_100K, 3),
        ("latest-small", "ml-latest-small", FAKE_LATEST, 3),
    ],
)
def test_download_when_missing(
    tmp_path, monkeypatch, variant, folder, files, n_ratings
):
    fake = FakeURLOpen(make_zip(folder, files))
    monkeypatch.setattr(urllib.request, "urlopen", fake)
    data_home = tmp_path / "new" / "home"  # created on demand
    bunch = fetch_movielens(variant, data_home=data_home)
    assert fake.urls == [f"https://files.grouplens.org/datasets/movielens/{folder}.zip"]
    assert len(bunch.data) == n_ratings
    assert sorted(p.name for p in data_home.iterdir()) == [folder]  # no leftovers
    assert sorted(p.name for p in (data_home / folder).iterdir()) == sorted(files)
    # Second call reads the extracted copy, no download.
    fetch_movielens(variant, data_home=data_home)
    assert len(fake.urls) == 1


def test_download_not_a_zip(tmp_path, monkeypatch):
    monkeypatch.setattr(
        urllib.request, "urlopen", FakeURLOpen(b"<html>Not found</html>")
    )
    with pytest.raises(OSError, match="not a zip archive"):
        fetch_movielens("1m", data_home=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_zip_without_expected_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(
        urllib.request, "urlopen", FakeURLOpen(make_zip("ml-10M100K", FAKE_1M))
    )
    with pytest.raises(OSError, match="no top-level folder 'ml-1m'"):
        fetch_movielens("1m", data_home=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_network_error_is_oserror(tmp_path, monkeypatch):
    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(OSError, match="Could not download"):
        fetch_movielens("100k", data_home=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_rejects_unsafe_paths(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ml-1m/ratings.dat", FAKE_1M["ratings.dat"])
        zf.writestr("../evil.txt", "x")
    monkeypatch.setattr(urllib.request, "urlopen", FakeURLOpen(buffer.getvalue()))
    with pytest.raises(OSError, match="unsafe path"):
        fetch_movielens("1m", data_home=tmp_path / "home")
    assert not (tmp_path / "evil.txt").exists()


# --------------------------------------------------------------------------------------
# The real data beside the repository (../shared/data), skipped when absent


@pytest.fixture(scope="module")
def ml1m(shared_data):
    return fetch_movielens("1m", data_home=shared_data, download_if_missing=False)


@pytest.mark.slow
def test_real_1m_counts(ml1m):
    X, y = ml1m.data, ml1m.target
    assert X.shape == (1_000_209, 15)
    assert list(X.columns) == ML1M_COLUMNS + EXTRA_COLUMNS
    assert X["user_id"].nunique() == 6_040
    assert X["item_id"].nunique() == 3_706
    assert ml1m.item_frame.shape == (3_883, 8)
    assert ml1m.user_frame.shape == (6_040, 4)
    assert set(np.unique(y)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert not X.duplicated(["user_id", "item_id"]).any()
    first = X.iloc[0]
    assert (first["user_id"], first["item_id"], y.iloc[0]) == (1, 1193, 5.0)


@pytest.mark.slow
def test_real_1m_dtypes_and_text(ml1m):
    X, items, users = ml1m.data, ml1m.item_frame, ml1m.user_frame
    assert_categorical(
        X, ["title", "genres", "gender", "occupation", "zip"] + EXTRA_COLUMNS[1:]
    )
    assert X["year"].dtype == np.float64
    assert items.loc[73, "title"] == "Misérables, Les (1995)"  # latin-1
    assert items.loc[1, "director"] == "John Lasseter"
    assert items.loc[1, "plot"].startswith("A little boy named Andy")
    # Plot text for almost every rated movie; two rated movies have no extra info.
    rated = items.loc[np.unique(X["item_id"])]
    assert rated["plot"].notna().sum() > 3_650
    assert rated["year"].isna().sum() == 2
    assert not rated["plot"].dropna().astype(str).str.contains("\r").any()
    assert (items["plot"].dropna() != "N/A").all()
    assert set(users["gender"]) == {"F", "M"}
    assert sorted(users["age"].unique()) == [1, 18, 25, 35, 45, 50, 56]
    assert users.loc[1, "occupation"] == "K-12 student"
    assert users.loc[4, "zip"] == "02460"  # leading zero kept


@pytest.mark.slow
def test_real_latest_small_equals_bundle(shared_data, small):
    fetched = fetch_movielens(
        "latest-small", data_home=shared_data, download_if_missing=False
    )
    pd.testing.assert_frame_equal(fetched.frame, small.frame)
    pd.testing.assert_frame_equal(fetched.item_frame, small.item_frame)
