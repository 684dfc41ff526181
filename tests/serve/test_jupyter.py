"""The Jupyter route: the `jupyter-server-proxy` entry point, `serve web --behind-jupyter`, and
the tutor in a real `jupyter server` on loopback, reached through its proxy with its token.

The tests against a Jupyter server skip (with the reason) only where jupyter-server or
jupyter-server-proxy is not installed; the test extra installs both. Nothing here asserts
on wall-clock time; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import urljoin

import aiohttp
import pytest

from serve_helpers import Screen, bounded, pid_gone, wait_until
from tui_attention.cli import main
from tui_attention.serve import jupyter
from tui_attention.serve.web import TutorWebServer

pytestmark = pytest.mark.serve

TOKENS = ("me", "gusta", "estudiar", "inteligencia", "artificial")
RIGHT = "\x1b[C"
SECRET = "s" * 20 + secrets.token_urlsafe(24)
HEADER = jupyter.PROXY_SECRET_HEADER


# A stand-in for the tutor as textual-serve runs it (pipes, not a terminal): the prelude line,
# then one data packet, then it waits for its input to close. It starts in milliseconds.
WEB_STANDIN = r'''
import os, sys
os.write(1, b"__GANGLION__\n")
text = b"WEB STAND-IN READY\r\n"
os.write(1, b"D" + len(text).to_bytes(4, "big") + text)
sys.stdin.buffer.read()
'''


def web_standin(tmp_path: Path) -> list[str]:
    script = tmp_path / "web_standin.py"
    script.write_text(WEB_STANDIN)
    return [sys.executable, "-P", str(script)]


def shows_tutor(text: str, step: int = 1) -> bool:
    return all(token in text for token in TOKENS) and f"step {step}/" in text


async def read_until(ws: aiohttp.ClientWebSocketResponse, screen: Screen, shown) -> None:
    """Feed the socket's output to `screen` until `shown(text)`; fail if the socket closes first."""
    async for message in ws:
        if message.type == aiohttp.WSMsgType.BINARY:
            screen.feed(message.data)
            if shown(screen.text()):
                return
    raise AssertionError(f"the socket closed ({ws.close_code}) before the screen showed it:\n{screen.text()}")


def stand_in_ready(text: str) -> bool:
    return "WEB STAND-IN READY" in text


# -- the entry point ------------------------------------------------------------------


def test_the_entry_point_is_registered():
    found = {e.name: e.value for e in entry_points(group="jupyter_serverproxy_servers")}
    assert found.get("tui-attention") == "tui_attention.serve.jupyter:server_process", (
        "the installed metadata lacks the entry point: pip install -e '.[test]' again"
    )


def test_the_server_process_starts_serve_web_behind_jupyter_with_a_secret_of_its_own():
    config = jupyter.server_process()
    command = config["command"]
    assert command[:6] == [sys.executable, "-P", "-m", "tui_attention", "serve", "web"]
    assert "--behind-jupyter" in command and "--unconfined" in command
    assert command[command.index("--host") + 1] == "127.0.0.1" and command[command.index("--port") + 1] == "{port}"
    secret = config["environment"][jupyter.PROXY_SECRET_ENV]
    assert config["request_headers_override"] == {HEADER: secret}
    assert len(secret) >= jupyter.MIN_SECRET_CHARS and "{" not in secret
    assert not any(secret in word for word in command)  # `ps` shows the command line, not the environment
    assert jupyter.server_process()["environment"][jupyter.PROXY_SECRET_ENV] != secret
    assert config["launcher_entry"]["title"] == "tui-attention"
    icon = ET.parse(config["launcher_entry"]["icon_path"]).getroot()
    assert icon.tag == "{http://www.w3.org/2000/svg}svg"


def test_jupyter_server_proxy_accepts_the_server_process():
    pytest.importorskip("jupyter_server_proxy", reason="jupyter-server-proxy is not installed (the [jupyter] extra)")
    from jupyter_server_proxy.config import ServerProcess

    process = ServerProcess(name="tui-attention", **jupyter.server_process())
    assert process.launcher_entry.title == "tui-attention"
    assert process.launcher_entry.path_info == "tui-attention/"
    assert Path(process.launcher_entry.icon_path) == jupyter.ICON


def test_the_instructors_options_reach_serve_web_word_for_word(tmp_path):
    environ = {jupyter.EXTRA_ARGS_ENV: "--lesson 2 --sentence 'a {b} c'"}
    command = jupyter.serve_command(environ, cgroup_file=tmp_path / "none")
    rendered = [word.format(port=4321, unix_socket="", base_url="/") for word in command]  # as the proxy does
    assert rendered[-4:] == ["--lesson", "2", "--sentence", "a {b} c"]
    assert rendered[rendered.index("--port") + 1] == "4321"


@pytest.mark.parametrize(
    "mem_limit, cgroup, budget",
    [
        ("536870912", None, "384"),  # KubeSpawner's MEM_LIMIT: 512 MiB, three quarters for the tutors
        (None, "268435456\n", "192"),  # the cgroup's memory.max: 256 MiB
        (None, "max\n", None),  # no limit: serve's own default (the machine's memory)
        ("52428800", None, "64"),  # 50 MiB: the least serve takes
        (str(2**50), None, str(16 * 1024 * 1024)),  # 1 PiB: the most serve takes (16 TiB), not a refusal
        ("lots", None, None),
    ],
)
def test_the_memory_budget_follows_the_containers_limit(tmp_path, mem_limit, cgroup, budget):
    cgroup_file = tmp_path / "memory.max"
    if cgroup is not None:
        cgroup_file.write_text(cgroup)
    environ = {"MEM_LIMIT": mem_limit} if mem_limit is not None else {}
    command = jupyter.serve_command(environ, cgroup_file=cgroup_file)
    assert (command[command.index("--memory-budget") + 1] if "--memory-budget" in command else None) == budget


# -- serve web --behind-jupyter, without Jupyter --------------------------------------


@pytest.mark.parametrize(
    "secret, extra, expected",
    [(None, [], "needs a secret"), ("short", [], "needs a secret"), (SECRET, ["--public-url", "http://x"], "exclude")],
    ids=["no secret", "short secret", "with --public-url"],  # not the random secret: the same ids in every process
)
def test_behind_jupyter_without_a_good_secret_exits_2_with_one_line(monkeypatch, capsys, secret, extra, expected):
    pytest.importorskip("textual_serve", reason="textual-serve is not installed (the workshop extra)")
    monkeypatch.delenv(jupyter.PROXY_SECRET_ENV, raising=False)
    if secret is not None:
        monkeypatch.setenv(jupyter.PROXY_SECRET_ENV, secret)
    assert main(["serve", "web", "--behind-jupyter", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and "Traceback" not in err[0]


async def test_behind_jupyter_only_requests_with_the_secret_get_anything(tmp_path):
    server = TutorWebServer(web_standin(tmp_path), port=0, proxy_secret=SECRET)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    hub = {"Host": "hub.example.org"}  # the browser's Host, which jupyter-server-proxy forwards
    try:
        async with aiohttp.ClientSession() as http:
            for path in ("/", "/static/js/textual.js", "/page/page.js", "/ws"):
                for headers in ({}, {HEADER: "wrong"}, {HEADER: SECRET[:-1]}):
                    async with http.get(base + path, headers={**hub, **headers}) as response:
                        assert response.status == 403, (path, headers)
            async with http.get(base + "/", headers={**hub, HEADER: SECRET}) as response:
                assert response.status == 200
                page = await response.text()
                policy = response.headers["Content-Security-Policy"]
            # relative URLs: they work under the proxy's prefix, <base_url>tui-attention/
            assert 'data-session-websocket-url="ws"' in page
            assert 'href="static/css/xterm.css"' in page and 'src="page/page.js"' in page
            assert "ws://hub.example.org wss://hub.example.org" in policy
            async with http.get(base + "/page/page.js", headers={**hub, HEADER: SECRET}) as response:
                assert response.status == 200 and "socketUrl" in await response.text()

            same_site = {**hub, HEADER: SECRET, "Origin": "https://hub.example.org"}
            ws = await bounded(http.ws_connect(base + "/ws?width=80&height=24", headers=same_site), 30)
            await bounded(read_until(ws, Screen(), stand_in_ready), 30)
            await ws.close()

            cross_site = {**hub, HEADER: SECRET, "Origin": "https://evil.example"}
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await bounded(http.ws_connect(base + "/ws", headers=cross_site), 30)
            assert refused.value.status == 403
    finally:
        await server.close()
    banner = "\n".join(server.banner_lines())
    assert "only through the Jupyter server" in banner and "no authentication" not in banner


# -- a real Jupyter server ------------------------------------------------------------


class Jupyter:
    def __init__(self, process: subprocess.Popen, port: int, token: str, log: Path) -> None:
        self.process, self.port, self.token, self.log = process, port, token, log
        self.url = f"http://127.0.0.1:{port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def tutor_servers(self) -> list[tuple[int, int]]:
        """(pid, port) of each `serve web --behind-jupyter` this Jupyter server started."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and "--behind-jupyter" in argv:
                found.append((int(entry.name), int(argv[argv.index("--port") + 1])))
        return found


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory):
    pytest.importorskip("jupyter_server", reason="jupyter-server is not installed (pip install -e '.[test]')")
    pytest.importorskip("jupyter_server_proxy", reason="jupyter-server-proxy is not installed (pip install -e '.[test]')")
    home = tmp_path_factory.mktemp("jupyter-home")
    config, runtime, root = home / "config", home / "runtime", home / "notebooks"
    for folder in (config, runtime, root):
        folder.mkdir()
    # the extension explicitly, whatever the installation's own config says
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_server_proxy": True}}})
    )
    env = {key: value for key, value in os.environ.items()
           if key not in ("MEM_LIMIT", jupyter.EXTRA_ARGS_ENV, "JUPYTER_TOKEN", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH")}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_PLATFORM_DIRS="1")  # fmt: skip
    token = secrets.token_hex(16)
    log = home / "jupyter.log"
    tutors: list[tuple[int, int]] = []
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--allow-root", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0",
             f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False", f"--ServerApp.root_dir={root}"],
            env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        info = None
        deadline = time.monotonic() + 90
        while info is None and time.monotonic() < deadline and process.poll() is None:
            for path in runtime.glob(f"jpserver-{process.pid}.json"):
                try:
                    info = json.loads(path.read_text())
                except ValueError:
                    pass  # still being written
            time.sleep(0.1)
        assert info is not None, "the Jupyter server did not start:\n" + log.read_text(errors="replace")[-3000:]
        server = Jupyter(process, int(info["port"]), token, log)
        yield server
        tutors = server.tutor_servers()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    deadline = time.monotonic() + 20
    while any(not pid_gone(pid) for pid, _ in tutors) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(pid_gone(pid) for pid, _ in tutors), "a tutor server outlived the Jupyter server"


def cookie_session() -> aiohttp.ClientSession:
    """A browser's cookie jar: the Jupyter server's login cookie, set for its IP address."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.websocket: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if (tag == "link" and attrs.get("rel") == "stylesheet") or tag == "script":
            self.urls.append(attrs.get("href") or attrs.get("src"))
        if "data-session-websocket-url" in attrs:
            self.websocket = attrs["data-session-websocket-url"]


async def open_page(http: aiohttp.ClientSession, jupyter: Jupyter) -> tuple[str, Links]:
    """The launcher's URL with the token, as the browser opens it: (its address, its links)."""
    page_url = f"{jupyter.url}/tui-attention/"
    async with http.get(page_url, params={"token": jupyter.token}) as response:
        assert response.status == 200, await response.text()
        links = Links()
        links.feed(await response.text())
    return page_url, links


def websocket_url(page_url: str, relative: str) -> str:
    """What page.js makes of the page's socket URL: resolved against the page, http -> ws."""
    return re.sub(r"^http", "ws", urljoin(page_url, relative))


async def test_the_launcher_lists_the_tutor_with_its_icon(jupyter_server):
    auth = {"Authorization": f"token {jupyter_server.token}"}
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.get(f"{jupyter_server.url}/server-proxy/servers-info") as response:
            assert response.status == 200
            servers = {s["name"]: s for s in (await response.json())["server_processes"]}
        entry = servers["tui-attention"]["launcher_entry"]
        assert entry["title"] == "tui-attention" and entry["path_info"] == "tui-attention/"
        async with http.get(jupyter_server.url + entry["icon_url"]) as response:
            assert response.status == 200 and response.content_type == "image/svg+xml"
            assert await response.read() == jupyter.ICON.read_bytes()


async def test_the_tutor_page_and_its_files_come_through_the_proxy_with_the_token(jupyter_server):
    async with cookie_session() as http:
        async with http.get(f"{jupyter_server.url}/tui-attention/", allow_redirects=False) as response:
            assert response.status in (302, 403)  # no token, no cookie: the login page, not the tutor's
        page_url, links = await bounded(open_page(http, jupyter_server), 90)
        assert links.websocket == "ws" and len(links.urls) == 4
        for url in links.urls:  # with the login cookie alone, as the browser fetches them
            async with http.get(urljoin(page_url, url)) as response:
                assert response.status == 200, url
                assert len(await response.read()) > 100, url


async def test_the_tutor_draws_and_takes_keys_through_the_proxied_websocket(jupyter_server):
    async with cookie_session() as http:
        page_url, links = await bounded(open_page(http, jupyter_server), 90)
        ws = await bounded(http.ws_connect(f"{websocket_url(page_url, links.websocket)}?width=80&height=24",
                                           headers={"Origin": jupyter_server.url}), 60)  # fmt: skip
        screen = Screen(80, 24)
        try:
            await bounded(read_until(ws, screen, shows_tutor), 90)
            await ws.send_json(["stdin", RIGHT])
            await bounded(read_until(ws, screen, lambda text: shows_tutor(text, step=2)), 60)
        finally:
            await ws.close()
    assert "connect 127.0.0.1" in jupyter_server.log_text()


async def test_a_cross_site_websocket_is_refused_by_both_servers(jupyter_server):
    async with cookie_session() as http:
        page_url, links = await bounded(open_page(http, jupyter_server), 90)
        url = f"{websocket_url(page_url, links.websocket)}?width=80&height=24"
        evil = {"Origin": "https://evil.example"}
        # with the login cookie, as a cross-site page in the same browser would: the Jupyter server refuses
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await bounded(http.ws_connect(url, headers=evil), 60)
        assert refused.value.status == 403
        # with the token in the URL the Jupyter server waives its Origin check; the tutor's server does not
        try:
            ws = await bounded(http.ws_connect(f"{url}&token={jupyter_server.token}", headers=evil), 60)
        except aiohttp.WSServerHandshakeError:
            pass
        else:  # the proxy had accepted before asking the tutor's server: the socket must close, tutorless
            screen = Screen()
            with pytest.raises(AssertionError, match="the socket closed"):
                await bounded(read_until(ws, screen, lambda text: any(token in text for token in TOKENS)), 60)
    assert await wait_until(lambda: "refused a cross-site websocket" in jupyter_server.log_text(), 20)


async def test_the_tutors_server_refuses_whoever_bypasses_the_jupyter_server(jupyter_server):
    async with cookie_session() as http:
        await bounded(open_page(http, jupyter_server), 90)  # starts serve web if no test has yet
    servers = jupyter_server.tutor_servers()
    assert len(servers) == 1
    base = f"http://127.0.0.1:{servers[0][1]}"
    async with aiohttp.ClientSession() as http:  # another local account: the port, but not the secret
        for path, headers in (("/", {}), ("/", {HEADER: "a-guess"}), ("/static/js/textual.js", {}), ("/ws", {})):
            async with http.get(base + path, headers=headers) as response:
                assert response.status == 403, path
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await bounded(http.ws_connect(base + "/ws", headers={"Origin": base}), 30)
        assert refused.value.status == 403


async def test_a_hand_started_serve_web_works_under_proxy_port_with_its_public_url(jupyter_server, tmp_path):
    """The other route: `serve web --public-url <the Jupyter server>/proxy/PORT` started by hand."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    public = f"{jupyter_server.url}/proxy/{port}"
    server = TutorWebServer(web_standin(tmp_path), port=port, public_url=public)
    await server.start()
    try:
        async with cookie_session() as http:
            async with http.get(f"{public}/", params={"token": jupyter_server.token}) as response:
                assert response.status == 200
                links = Links()
                links.feed(await response.text())
            assert links.websocket == f"ws://127.0.0.1:{jupyter_server.port}/proxy/{port}/ws"
            for url in links.urls:
                async with http.get(url) as response:
                    assert response.status == 200, url
            ws = await bounded(http.ws_connect(f"{links.websocket}?width=80&height=24",
                                               headers={"Origin": jupyter_server.url}), 60)  # fmt: skip
            await bounded(read_until(ws, Screen(), stand_in_ready), 60)
            await ws.close()
    finally:
        await server.close()


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)
def test_a_browser_opens_the_launchers_url_and_gets_a_working_tutor(jupyter_server, tmp_path):
    """What an attendee does: the launcher's URL in chromium (headless), the tutor drawn in the
    page under the proxy's prefix, a key that moves it, and no file from elsewhere or CSP refusal."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains

    from test_browser import NOTE_TERMINALS, READ_TERMINAL, wait_for  # how xterm.js's text is read

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,800"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NOTE_TERMINALS})
        driver.get(f"{jupyter_server.url}/tui-attention/?token={jupyter_server.token}")

        def text() -> str:
            return driver.execute_script(READ_TERMINAL) or ""

        assert wait_for(lambda: shows_tutor(text()), 90), text()
        ActionChains(driver).send_keys("l").perform()  # "l": the next step
        assert wait_for(lambda: shows_tutor(text(), step=2), 60), text()
        loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(url.startswith(f"{jupyter_server.url}/tui-attention/") for url in loaded), loaded
        problems = [entry["message"] for entry in driver.get_log("browser")
                    if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]]
        assert not problems, problems
    finally:
        driver.quit()
