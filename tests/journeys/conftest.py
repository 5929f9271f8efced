"""Journeys in a real browser: Debian's Chromium, driven by Playwright, against the live server.

One browser for the whole session and one context (a clean cookie jar) per test. Every journey
runs in both languages at desktop and at phone width (the `journey` fixture is parametrized),
logs in through the real login page, and saves a screenshot of each step as
`<journey>-<lang>-<width>-<nn>-<step>.png` under `var/journeys/` (git-ignored). A step also fails
on a server error (5xx) or a script error the page met, on a page wider than the screen, and on
a navigation that is not in the journey's language. Time is pinned to a
known working Monday and moved with time-machine; the live server runs in this process, so it
sees the moved time too.

Accessibility: axe-core (an npm package, pinned in package-lock.json; `make test` installs it
into node_modules/) checks every page a journey visits, in each state the journey leaves it:
at each step (`shot`), once a heading, message or status was awaited, before the helpers leave
a page, with an action's form open before it is sent, and on the page a journey ends on. A
critical or serious violation fails the step; so does a page a journey loaded but never let axe
check, and a journey in which axe checked nothing.
"""

import datetime as dt
import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import override_settings
from django.utils import timezone, translation
from playwright.sync_api import ConsoleMessage, Frame, Page, Response, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from pytest_django.live_server_helper import LiveServer

from officials.models import User
from tests.conftest import at
from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = Path(settings.VAR_DIR) / "journeys"
# What the browser says it prefers (Accept-Language) for each language of the portal.
BROWSER_LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
VARIANTS = [
    pytest.param((language, width), id=f"{language}-{width}")
    for language in BROWSER_LOCALES
    for width in VIEWPORTS
]
# A Monday in a week without holidays: the "133" clocks come out in whole, known days.
MONDAY = at("2026-11-16 09:00")
TIMEOUT_MS = 15_000
CJK = re.compile(r"[\u4e00-\u9fff]")
# The innermost elements that stick out past the right edge of the screen (none on a sound page).
WIDER_THAN_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const out = [...document.querySelectorAll("body *")].filter(
    (e) => e.getBoundingClientRect().right > width + 0.5 && e.getClientRects().length);
  return out.filter((e) => !out.some((o) => o !== e && e.contains(o))).slice(0, 5).map(
    (e) => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")} `
      + `${Math.round(e.getBoundingClientRect().right - width)}px: `
      + e.textContent.trim().slice(0, 40));
}"""

# axe-core from the npm registry, installed by `make test` (`npm ci`, from package-lock.json).
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# What fails a step: the two highest of axe's four impacts (minor, moderate, serious, critical).
AXE_FAILING_IMPACTS = ["critical", "serious"]
# What the page is showing, cheaply: a hash of its markup (an opened <details>, a new message) and
# the ticked boxes and radios (a property, not in the markup: the phone menu). Unchanged, axe
# would find the same again, so it is not run twice.
PAGE_STATE = """() => {
  const html = document.documentElement.outerHTML;
  let hash = 2166136261;
  for (let i = 0; i < html.length; i++) hash = Math.imul(hash ^ html.charCodeAt(i), 16777619);
  const ticked = [...document.querySelectorAll("input:checked")].map((e) => e.id || e.name);
  return `${(hash >>> 0).toString(16)}-${html.length}-${ticked.join(",")}`;
}"""
# preload without "cssom": axe would copy the style sheets into <style> elements, which the
# portal's Content Security Policy refuses (a console error that fails the step). Only
# css-orientation-lock reads that copy, an experimental rule that axe.run leaves out anyway.
AXE_RUN = """async (impacts) => {
  const options = {resultTypes: ["violations"], preload: {assets: ["media"]}};
  const result = await axe.run(document, options);
  return result.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    summary: (v.nodes[0].failureSummary || "").split("\\n").slice(0, 3).join(" "),
  }));
}"""


@functools.cache
def axe_source() -> str:
    """The script of axe-core, read once; a journey cannot run without it (never a silent skip)."""
    if not AXE.exists():
        pytest.fail(
            f"axe-core is missing ({AXE.relative_to(settings.BASE_DIR)}): the browser journeys "
            "check every page with it. Install it with `make test`, or `npm ci` in the "
            "repository's root (needs npm: apt-get install nodejs npm).",
            pytrace=False,
        )
    return AXE.read_text(encoding="utf-8")


# Every journey module carries these marks. The live server answers from other threads (other
# connections on PostgreSQL), so the data must be committed; the calendar, categories and the
# escalation ladder of the data migrations are restored after each test's flush.
JOURNEY = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"browser journeys need Debian's Chromium at {CHROMIUM} "
        "(run .ci/browser-deps: apt-get install chromium fonts-noto-cjk)",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(scope="session")
def live_server(request) -> Iterator:
    """pytest-django's live server, started where Django's test server can cope with the portal.

    The portal serves no uploads by URL (`MEDIA_URL = None`: files go through a view that checks
    access), but Django's test server always wraps the app in a media-files handler that parses
    MEDIA_URL and fails every request on None. A URL on another host makes that handler step
    aside for every path, so nothing is served from the upload folder here either.
    """
    address = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    with override_settings(MEDIA_URL="http://uploads.invalid/"):
        server = LiveServer(address)  # returns once the server thread has built its handlers
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the session; contexts keep the tests apart."""
    expect.set_options(timeout=TIMEOUT_MS)

    # Playwright's synchronous API keeps an asyncio loop running in this thread, and Django
    # refuses ORM calls where a loop runs. The tests' own set-up is plain synchronous code, so
    # the guard is lifted for as long as the browser lives, and put back afterwards.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # Where a loop runs, Django keeps database connections per async context instead of per
    # thread, and would open fresh ones: without the test database's saved contents (the data
    # migrations' rows that serialized rollback restores after each flush). Hand it this thread's.
    wrappers = {alias: connections[alias] for alias in connections}
    try:
        with sync_playwright() as playwright:
            for alias, wrapper in wrappers.items():
                connections[alias] = wrapper
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Journey:
    """A person at the browser: a page in one language and width, and the steps it went through."""

    page: Page
    base_url: str
    name: str
    language: str
    width: str
    # Server errors (5xx) and script errors (a broken script, a style the CSP refused) seen.
    problems: list[str] = field(default_factory=list)
    steps: int = 0
    # The pages loaded in the main frame, in order, and which of them axe checked.
    documents: list[str] = field(default_factory=list)
    checked_documents: set[int] = field(default_factory=set)
    # The (address, state) pairs axe checked: each is checked once per journey.
    axe_checked: set[tuple[str, str]] = field(default_factory=set)

    # --- what the user should read -------------------------------------------------------------

    def t(self, message, **params) -> str:
        """`message` (a msgid or a lazy text) as the portal says it in this journey's language.

        In Chinese the text must really be Chinese: an untranslated string fails here.
        """
        with translation.override(self.language):
            text = translation.gettext(message) if isinstance(message, str) else str(message)
        if self.language == "zh-hans":
            assert CJK.search(text), f"not translated into Chinese: {text!r}"
        return text % params if params else text

    def expect_message(self, text: str) -> None:
        """The green (or red) line at the top of the page says `text`."""
        expect(self.page.locator("ul.messages")).to_contain_text(text)
        self.check_accessibility()

    def expect_heading(self, text: str) -> None:
        expect(self.page.locator("main h1")).to_contain_text(text)
        self.check_accessibility()

    def expect_status(self, status_label) -> None:
        """The status badge at the top of a request's page."""
        expect(self.page.locator("main .badge.status").first).to_have_text(self.t(status_label))
        self.check_accessibility()

    # --- moving around -------------------------------------------------------------------------

    def go(self, path: str) -> None:
        self.check_accessibility()  # the page being left
        self.page.goto(self.base_url + path)

    def click_link(self, text: str) -> None:
        self.check_accessibility()
        self.page.get_by_role("link", name=text, exact=True).first.click()

    def open_menu(self) -> None:
        """On a phone the navigation, the name and "Log out" fold behind the menu button."""
        # Decided by the viewport, not by whether the button looks visible: while a page is
        # still loading its stylesheet a desktop page shows the button for a moment.
        viewport = self.page.viewport_size or {"width": 1280}
        if viewport["width"] >= 768:
            return
        button = self.page.locator("header .menu-button")
        if not self.page.locator("#nav-toggle").is_checked():
            button.click()

    def nav(self, text: str) -> None:
        """Follow a link of the main navigation."""
        self.check_accessibility()
        self.open_menu()
        self.page.locator("nav.site-nav").get_by_role("link", name=text).click()

    def login(self, user: User, password: str = PASSWORD) -> None:
        """Log in through the login page, as a person would."""
        self.go("/accounts/login/")
        self.expect_heading(self.t("Log in to Qinqing"))
        self.page.locator("#id_login").fill(user.username)
        self.page.locator("#id_password").fill(password)
        self.page.locator('main form[action="/accounts/login/"] button[type=submit]').click()
        expect(self.page.locator("header .who")).to_contain_text(user.display_name)
        self.check_accessibility()

    def logout(self) -> None:
        self.check_accessibility()
        self.open_menu()
        self.page.locator("header").get_by_role("button", name=self.t("Log out")).click()
        self.expect_heading(self.t("Log in to Qinqing"))

    # --- the request page's action forms -------------------------------------------------------

    def act(self, label: str, fields: dict[str, str] | None = None, *, choose=None) -> None:
        """Open the action called `label` on a request's page, fill it in and submit it.

        `fields` are text fields by their element id (`<action>-<field>`); `choose` maps a
        select's id to the visible text of its option, or a radio's name to its value.
        """
        self.check_accessibility()  # the page with its actions folded
        section = self.page.locator(
            "details.action", has=self.page.locator(f'summary:text-is("{label}")')
        )
        if section.get_attribute("open") is None:
            section.locator("summary").click()
        for element_id, value in (fields or {}).items():
            section.locator(f"#{element_id}").fill(value)
        for name, option in (choose or {}).items():
            if section.locator(f"select#{name}").count():
                section.locator(f"select#{name}").select_option(label=option)
            else:
                section.locator(f"input[name='{name}'][value='{option}']").check()
        self.check_accessibility()  # the action's form, open and filled in
        section.get_by_role("button", name=label, exact=True).click()

    def check_navigation_language(self) -> None:
        """Every link of the main navigation reads in the journey's language."""
        links = self.page.locator("nav.site-nav a").all_inner_texts()
        chinese = self.language == "zh-hans"
        wrong = [text for text in links if bool(CJK.search(text)) != chinese]
        assert not wrong, f"navigation not in {self.language}: {wrong}"

    # --- accessibility -------------------------------------------------------------------------

    def check_accessibility(self) -> None:
        """axe-core finds no critical or serious violation on the page as it is now.

        Injected through the DevTools protocol (`evaluate`), not as a <script> tag: the portal's
        Content Security Policy rightly refuses an inline script, and the protocol is not bound
        by it. Run once per page and state; a page already checked as it is costs one hash.
        """
        page = self.page
        if not page.url.startswith(self.base_url):
            return  # about:blank before the first page
        for attempt in (1, 2):
            try:
                page.wait_for_load_state()
                url, state = page.url, page.evaluate(PAGE_STATE)
                if (url, state) not in self.axe_checked:
                    if not page.evaluate("() => typeof axe !== 'undefined'"):
                        page.evaluate(axe_source() + "\n;undefined")
                    violations = page.evaluate(AXE_RUN, AXE_FAILING_IMPACTS)
                break
            except PlaywrightError as error:
                # The test's last click is still navigating: check the page it lands on.
                if attempt == 2 or "context was destroyed" not in str(error):
                    raise
        self.checked_documents.add(len(self.documents) - 1)
        if (url, state) in self.axe_checked:
            return
        self.axe_checked.add((url, state))
        if violations:
            found = "\n".join(
                f"  {v['impact']} {v['id']}: {v['help']} ({v['count']}x, e.g. "
                f"{', '.join(v['targets'])}) {v['summary']}"
                for v in violations
            )
            raise AssertionError(f"axe-core on {url} (step {self.steps + 1}):\n{found}")

    def unchecked_pages(self) -> list[str]:
        """The pages this journey loaded but never let axe check."""
        return [
            url
            for number, url in enumerate(self.documents)
            if number not in self.checked_documents and url.startswith(self.base_url)
        ]

    # --- evidence ------------------------------------------------------------------------------

    def shot(self, step: str) -> Path:
        """Save a screenshot of this step, after checking the page is sound."""
        self.steps += 1
        assert not self.problems, f"before step {step!r}: {self.problems}"
        self.page.wait_for_load_state()  # the style sheets too: measured unstyled, tables overflow
        overflow = self.page.evaluate(WIDER_THAN_SCREEN)
        assert not overflow, f"step {step!r}: wider than the screen: {overflow}"
        self.check_navigation_language()
        self.check_accessibility()
        path = SCREENSHOTS / f"{self.name}-{self.language}-{self.width}-{self.steps:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


_CLEARED: set[tuple[str, str, str]] = set()
CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember whether the test itself failed: the journey's last checks then stand down."""
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


@pytest.fixture(params=VARIANTS)
def journey(request, browser, live_server, time_machine, settings) -> Iterator[Journey]:
    """A fresh browser context in one language and width, at 09:00 on a working Monday."""
    language, width = request.param
    axe_source()  # fails here, before any browsing, when axe-core is not installed
    time_machine.move_to(MONDAY, tick=False)
    # Time stands still here, so every journey's logins (all from this machine) would fall in
    # one window of the per-client login rate; the rate is tested in test_client_addresses.py.
    rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "login": "100000/minute"},
    }
    context = browser.new_context(
        viewport=VIEWPORTS[width],
        locale=BROWSER_LOCALES[language],
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    person = Journey(page=page, base_url=live_server.url, name=name, language=language, width=width)

    def on_response(response: Response) -> None:
        if response.status >= 500:
            person.problems.append(f"{response.status} {response.url}")

    def on_console(message: ConsoleMessage) -> None:
        # A refused form answers 400 or 409 on purpose; Chromium logs every such status too.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            person.problems.append(f"console: {message.text}")

    def on_navigated(frame: Frame) -> None:
        if frame == page.main_frame:
            person.documents.append(frame.url)

    page.on("response", on_response)
    page.on("framenavigated", on_navigated)
    page.on("console", on_console)
    page.on("pageerror", lambda error: person.problems.append(f"script: {error}"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Last run's pictures go, once per module and variant: a module's later journeys add theirs.
    if (name, language, width) not in _CLEARED:
        _CLEARED.add((name, language, width))
        for old in SCREENSHOTS.glob(f"{name}-{language}-{width}-*.png"):
            old.unlink()
    try:
        yield person
        if not request.node.stash.get(CALL_FAILED, True) and not person.problems:
            person.check_accessibility()  # the page the journey ended on
            assert person.axe_checked, "axe-core checked no page of this journey"
            unchecked = person.unchecked_pages()
            assert not unchecked, (
                f"pages loaded but never checked by axe-core: {unchecked}; check them with "
                "journey.check_accessibility() (journey.shot and the helpers do)"
            )
    finally:
        context.close()
    assert not person.problems, person.problems


def local_input(moment: dt.datetime) -> str:
    """A moment as a `datetime-local` field takes it, in the portal's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")
