"""`TutorWebServer` checks its public_url itself (audit: only `serve web --public-url` did, so a
program constructing the server could hand browsers a bare word, a query or an escape), by
the one rule the command line uses (`infra.urls.public_url_problem`)."""

from __future__ import annotations

import argparse

import pytest

from tui_attention.cli import serve as serve_cli
from tui_attention.infra.urls import public_url_problem
from tui_attention.serve.web import TutorWebServer

pytestmark = pytest.mark.serve

BAD = ["notaurl", "", "tutor.example.org", "ftp://tutor.example.org", "https://", "http://x:99999", "http://x:port",
       "https://tutor.example.org/?a=1", "https://tutor.example.org/#top", "https://tutor example.org",
       "https://tutor.example.org/\x1b[2J", "https://tutor.example.org/\n", "https://tutor.example.org\t",
       "https://tutor.example.org/\u202e", "https://[::1", "javascript:alert(1)"]
GOOD = ["https://tutor.example.org", "https://tutor.example.org/", "http://[::1]:8000/tutor/",
        "HTTPS://Tutor.Example.org", "http://127.0.0.1:8000"]


@pytest.mark.parametrize("url", [*BAD, 5, b"https://tutor.example.org", ["https://tutor.example.org"]])
def test_the_server_refuses_a_public_url_browsers_cannot_use_in_one_line(url):
    with pytest.raises(ValueError) as refused:
        TutorWebServer(["true"], port=0, public_url=url)
    message = str(refused.value)
    assert message.startswith("public_url must be an http:// or https:// address") and "\n" not in message
    assert "\x1b" not in message and "\u202e" not in message  # the text is shown escaped


@pytest.mark.parametrize("url", GOOD)
def test_the_server_takes_a_public_url(url):
    server = TutorWebServer(["true"], port=0, public_url=url)
    assert server.public_url == url.rstrip("/")


@pytest.mark.parametrize("url", BAD + GOOD)
def test_the_command_line_and_the_server_keep_the_same_rule(url):
    try:
        serve_cli._public_url(url)
        cli_takes = True
    except argparse.ArgumentTypeError:
        cli_takes = False
    assert cli_takes == (public_url_problem(url) is None)
