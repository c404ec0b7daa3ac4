import pytest

from connect_hooks.errors import BadInput
from connect_hooks.urls import is_loopback, parse_send_url, parse_url


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.9.8.7", "::1", "[::1]", "api.localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["example.test", "10.0.0.1", "192.168.1.1", "localhost.example", "128.0.0.1"])
def test_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_https_is_accepted_without_a_note() -> None:
    assert parse_send_url("https://example.test/hooks").note is None


def test_http_to_loopback_gets_a_note() -> None:
    target = parse_send_url("http://127.0.0.1:8787/")
    assert target.note is not None and "only calls https" in target.note


def test_http_elsewhere_needs_allow_http() -> None:
    with pytest.raises(BadInput, match="--allow-http"):
        parse_send_url("http://example.test/hooks")
    assert parse_send_url("http://example.test/hooks", allow_http=True).note is not None


@pytest.mark.parametrize(
    "url",
    ["", "ftp://x.test/", "https://", "http://:8080/", "x.test/hooks", "https://x.test:99999/", "https://x.test:0/"],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(BadInput):
        parse_url(url)
