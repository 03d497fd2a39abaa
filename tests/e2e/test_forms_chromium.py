"""Lead-capture forms in a real browser: headless Chromium (Selenium 4) against ``crm-tui form serve``.

>>> server = forms_server          # a fixture: the real server on a free port, a temp SQLite database
>>> browser = chromium(javascript=False)
>>> browser.get(server.base + "/")

What a raw HTTP client cannot see (``tests/unit/test_forms.py`` covers the protocol): labels that the
browser really ties to their inputs, Chromium's own checks on ``required`` inputs, where the server's
errors land on the page, the cookie + token round trip done by the browser, the redirect after a
submission, and the whole flow with JavaScript switched off.

Uses Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and never Selenium
Manager: the driver's path is given, so nothing is downloaded. Skips when they or selenium are missing,
except with ``CI=true``, where it fails (CI must not pass without running it).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CRM_TUI = Path(sys.executable).parent / "crm-tui"
WAIT_SECONDS = float(os.environ.get("CRM_TUI_E2E_WAIT", "20"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    absent = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if absent:
        return f"{' and '.join(absent)} missing (apt-get install chromium chromium-driver; .ci/run does)"
    return None


MISSING = _missing()
if MISSING and not IN_CI:
    pytest.skip(MISSING, allow_module_level=True)

if not MISSING:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

from crm_tui.db import connection  # noqa: E402
from crm_tui.domain.actors import actor_for, add_user, ensure_user  # noqa: E402
from crm_tui.domain.forms import add_form, input_name, load_form, validate_submission  # noqa: E402
from crm_tui.domain.record_views import list_records  # noqa: E402
from crm_tui.domain.template import install_sales_crm  # noqa: E402

QUOTE = "request-a-quote"
THANKS = "Thanks! Your quote is on its way."


# ------------------------------------------------------------------------------------------------
# fixtures: the database, the server, the browser


@pytest.fixture
def workspace(sqlite_url):
    """The Sales CRM template, a user "sam" and two forms, in a temp SQLite file."""
    connection.open_database(sqlite_url)
    actor = actor_for(ensure_user("admin", is_admin=True))
    install_sales_crm(actor)
    add_user("sam", by=actor)
    add_form(actor, "Clients", "Contact us", fields=["Email"], required=["Email"])
    add_form(actor, "Opportunities", "Request a quote",
             fields=["Client size", "Amount", "Expected close date", "Confidence"], required=["Client size"],
             list_name="Qualifying", tags=["Website", "SEO"], assignee="sam", thanks=THANKS,
             title_label="Your company")
    return actor


class FormsServer:
    """``crm-tui form serve --port 0`` as a subprocess; ``base`` is its address once it listens."""

    def __init__(self, db_url: str, log: Path):
        env = dict(os.environ, PYTHONUNBUFFERED="1", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        self.log = log
        self._stderr = log.open("w")
        # --rate: the browser flows below post a dozen times a minute from one address
        self.proc = subprocess.Popen([str(CRM_TUI), "--db", db_url, "--user", "admin", "form", "serve",
                                      "--host", "127.0.0.1", "--port", "0", "--rate", "100"],
                                     env=env, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], WAIT_SECONDS)
        line = self.proc.stdout.readline() if ready else ""
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not match:
            self.stop()
            raise RuntimeError(f"forms server did not start: {line!r}\n{log.read_text()}")
        self.base = f"http://127.0.0.1:{match[1]}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()


@pytest.fixture
def forms_server(workspace, sqlite_url, tmp_path):
    if not CRM_TUI.exists():
        pytest.fail(f"no crm-tui console script next to {sys.executable} (is the package installed?)")
    server = FormsServer(sqlite_url, tmp_path / "forms-server.log")
    yield server
    server.stop()


@pytest.fixture
def chromium(tmp_path, monkeypatch):
    """``chromium(javascript=True)``: a headless Chromium on Debian's chromedriver, quit afterwards."""
    if MISSING:
        pytest.fail(f"CI=true but the Chromium tests cannot run: {MISSING}")
    monkeypatch.setenv("SE_OFFLINE", "true")  # belt and braces: Selenium Manager must never download
    started = []

    def start(javascript: bool = True):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-proxy-server", "--lang=en-US", "--window-size=1024,900",
                    f"--user-data-dir={tmp_path / f'profile-{len(started)}'}"):
            options.add_argument(arg)
        options.add_experimental_option("prefs", {
            "profile.managed_default_content_settings.javascript": 1 if javascript else 2,
            "intl.accept_languages": "en-US"})
        service = Service(CHROMEDRIVER, log_output=str(tmp_path / f"chromedriver-{len(started)}.log"))
        driver = webdriver.Chrome(service=service, options=options)
        started.append(driver)
        driver.set_page_load_timeout(WAIT_SECONDS)
        return driver

    yield start
    for driver in started:
        driver.quit()


# ------------------------------------------------------------------------------------------------
# helpers


def wait(driver, condition, what: str):
    """WebDriverWait with a failure that shows where the browser was and what it showed."""
    try:
        return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.05).until(condition)
    except TimeoutException:
        body = driver.find_element(By.TAG_NAME, "body").text if driver.find_elements(By.TAG_NAME, "body") else ""
        pytest.fail(f"not after {WAIT_SECONDS:.0f} s: {what}\nat {driver.current_url}\n--- page ---\n{body}")


def submit(driver, expect: str):
    """Click Send and wait for the next page (the old form goes stale), then for ``expect`` (CSS)."""
    form = driver.find_element(By.TAG_NAME, "form")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, EC.staleness_of(form), "the form to be replaced by the server's answer")
    return wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, expect)), f"{expect} on the new page")


def answers_400(driver) -> int:
    """How many 400 answers Chromium logged since the last call; fails on any CSP refusal."""
    messages = [entry["message"] for entry in driver.get_log("browser")]
    assert not [m for m in messages if "Content Security Policy" in m], messages
    return sum("status of 400" in m for m in messages)


def inputs(spec) -> dict[str, str]:
    """Field name → its input's id on the page (``in-f<field id>``); the title is ``in-title``."""
    return {item.fdef.name: f"in-f{item.fdef.id}" for item in spec.fields}


def domain_error(spec, field: str, raw: str) -> str:
    """What the domain says of ``raw`` in ``field``: the text the page must show beside it."""
    fdef = next(item.fdef for item in spec.fields if item.fdef.name == field)
    return validate_submission(spec, {input_name(fdef): raw})[2][input_name(fdef)]


def quotes(actor) -> list[dict]:
    return list_records(actor, "Opportunities")


def open_quote_form(driver, base: str) -> None:
    """The index, then the link to the quote form, as a visitor would."""
    driver.get(base + "/")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Forms"
    links = {a.text: a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "ul a")}
    assert links == {"Contact us": f"{base}/f/contact-us", "Request a quote": f"{base}/f/{QUOTE}"}
    driver.find_element(By.LINK_TEXT, "Request a quote").click()
    wait(driver, EC.url_to_be(f"{base}/f/{QUOTE}"), "the quote form's address")
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "form button[type=submit]")), "the form")
    assert driver.title == "Request a quote"


def assert_csrf(driver) -> str:
    token = driver.find_element(By.CSS_SELECTOR, "form input[type=hidden][name=csrf_token]")
    value = token.get_attribute("value")
    assert re.fullmatch(r"[0-9a-f]{64}", value), value
    cookie = driver.get_cookie("crm_form_csrf")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
    return value


def error_id(input_id: str) -> str:
    return "err-" + input_id.removeprefix("in-")


def assert_error_beside(driver, input_id: str, message: str) -> None:
    """The server's error for one input: right after it, visible just below it, and tied to it."""
    err_id = error_id(input_id)
    field = driver.find_element(By.ID, input_id)
    error = driver.find_element(By.ID, err_id)
    assert error.text == message
    assert error.is_displayed()
    assert driver.find_element(By.XPATH, f"//*[@id='{input_id}']/following-sibling::*[1]") == error
    assert field.get_attribute("aria-invalid") == "true" and field.get_attribute("aria-describedby") == err_id
    assert "invalid" in field.find_element(By.XPATH, "..").get_attribute("class").split()
    below = error.rect["y"] - (field.rect["y"] + field.rect["height"])
    assert 0 <= below < 40, (field.rect, error.rect)


def fill(driver, ids: dict[str, str], *, company: str, size: str, amount: str) -> None:
    title = driver.find_element(By.ID, "in-title")
    title.clear()
    title.send_keys(company)
    Select(driver.find_element(By.ID, ids["Client size"])).select_by_visible_text(size)
    box = driver.find_element(By.ID, ids["Amount"])
    box.clear()
    box.send_keys(amount)


def assert_created(actor, title: str, fields: dict) -> dict:
    made = [r for r in quotes(actor) if r["title"] == title]
    assert len(made) == 1, [r["title"] for r in quotes(actor)]
    item = made[0]
    assert (item["list"], sorted(item["tags"]), item["assignee"]) == ("Qualifying", ["SEO", "Website"], "sam")
    assert {name: item["fields"][name] for name in fields} == fields
    return item


# ------------------------------------------------------------------------------------------------
# the tests


def test_lead_form_in_chromium(forms_server, chromium, workspace):
    base = forms_server.base
    spec = load_form(QUOTE)
    ids = inputs(spec)
    browser = chromium(javascript=True)
    open_quote_form(browser, base)
    token = assert_csrf(browser)

    # every visible input is labelled, and clicking the label focuses it (the browser ties them)
    controls = browser.find_elements(By.CSS_SELECTOR, "form input:not([type=hidden]), form select, form textarea")
    assert {c.get_attribute("id") for c in controls} == {"in-title", "hp", *ids.values()}
    for control in controls:
        ident = control.get_attribute("id")
        labels = browser.find_elements(By.CSS_SELECTOR, f"label[for='{ident}']")
        assert len(labels) == 1 and labels[0].get_attribute("textContent").strip(), f"input {ident} has no label"
        if control.get_attribute("name") == "website_url":  # the honeypot: kept off-screen, out of tab order
            assert control.rect["x"] + control.rect["width"] < 0 and control.get_attribute("tabindex") == "-1"
            continue
        labels[0].click()
        assert browser.switch_to.active_element == control, f"clicking the label of {ident} did not focus it"
    assert browser.find_element(By.CSS_SELECTOR, "label[for='in-title']").text == "Your company *"
    assert browser.find_element(By.CSS_SELECTOR, f"label[for='{ids['Client size']}']").text == "Client size *"

    # 1. empty: Chromium's own check on the required inputs stops it before any request
    before = len(quotes(workspace))
    form = browser.find_element(By.TAG_NAME, "form")
    assert browser.execute_script("return arguments[0].checkValidity()", form) is False
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert browser.current_url == f"{base}/f/{QUOTE}"
    assert browser.execute_script("return arguments[0].validity.valueMissing",
                                  browser.find_element(By.ID, "in-title"))
    assert browser.find_element(By.ID, "in-title").get_property("validationMessage")
    assert not browser.find_elements(By.CLASS_NAME, "error")
    assert answers_400(browser) == 0  # no request reached the server

    # 2. empty, with the browser's checks off (an old browser, a script): the server's errors, each
    #    beside its field, and nothing created
    browser.execute_script("arguments[0].noValidate = true", form)
    submit(browser, ".error")
    assert answers_400(browser) == 1  # this time the server answered (and only this time)
    assert browser.find_element(By.CSS_SELECTOR, "body > p.error").text == "Please correct the 2 fields marked below."
    assert_error_beside(browser, "in-title", "Your company is required")
    assert_error_beside(browser, ids["Client size"], "this field is required")
    assert len(browser.find_elements(By.CSS_SELECTOR, "p.error[id]")) == 2
    assert assert_csrf(browser) == token  # the form shown again still carries the token
    assert len(quotes(workspace)) == before

    # 3. a value only the server can judge: its error beside Amount, everything typed kept
    fill(browser, ids, company="Analytical Engines Ltd", size="Enterprise", amount="lots")
    browser.find_element(By.ID, ids["Expected close date"]).send_keys("03152027")  # en-US: mm/dd/yyyy
    Select(browser.find_element(By.ID, ids["Confidence"])).select_by_visible_text("★★★★")
    submit(browser, ".error")
    assert_error_beside(browser, ids["Amount"], domain_error(spec, "Amount", "lots"))
    assert [e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, "p.error[id]")] == [
        error_id(ids["Amount"])]
    assert browser.find_element(By.ID, "in-title").get_attribute("value") == "Analytical Engines Ltd"
    assert Select(browser.find_element(By.ID, ids["Client size"])).first_selected_option.text == "Enterprise"
    assert browser.find_element(By.ID, ids["Amount"]).get_attribute("value") == "lots"
    assert browser.find_element(By.ID, ids["Expected close date"]).get_attribute("value") == "2027-03-15"
    assert Select(browser.find_element(By.ID, ids["Confidence"])).first_selected_option.text == "★★★★"
    assert len(quotes(workspace)) == before

    # 4. corrected: the thank-you page, and the record in the form's list with its tags and assignee
    box = browser.find_element(By.ID, ids["Amount"])
    box.clear()
    box.send_keys("$12,500")
    submit(browser, "body > p")
    wait(browser, EC.url_to_be(f"{base}/f/{QUOTE}/thanks"), "the thank-you page (POST → redirect → GET)")
    assert browser.find_element(By.CSS_SELECTOR, "body > p").text == THANKS
    assert_created(workspace, "Analytical Engines Ltd", {"Client size": "Enterprise", "Amount": "12500.00",
                                                         "Expected close date": "2027-03-15", "Confidence": 4})
    assert len(quotes(workspace)) == before + 1

    # 5. reloading the thank-you page does not submit again
    browser.refresh()
    wait(browser, EC.text_to_be_present_in_element((By.CSS_SELECTOR, "body > p"), THANKS), "the thanks again")
    assert len(quotes(workspace)) == before + 1
    assert answers_400(browser) == 1  # the Amount refusal of step 3


def test_lead_form_without_javascript(forms_server, chromium, workspace):
    browser = chromium(javascript=False)
    # the preference really is in force: this page's script would retitle it
    browser.get("data:text/html,<title>off</title><script>document.title='on'</script>")
    assert browser.title == "off"

    base = forms_server.base
    spec = load_form(QUOTE)
    ids = inputs(spec)
    open_quote_form(browser, base)
    assert_csrf(browser)
    before = len(quotes(workspace))

    fill(browser, ids, company="Hopper & Co", size="Small", amount="a lot")
    submit(browser, ".error")
    assert_error_beside(browser, ids["Amount"], domain_error(spec, "Amount", "a lot"))
    assert browser.find_element(By.ID, "in-title").get_attribute("value") == "Hopper & Co"
    assert len(quotes(workspace)) == before

    fill(browser, ids, company="Hopper & Co", size="Small", amount="950")
    submit(browser, "body > p")
    wait(browser, EC.url_to_be(f"{base}/f/{QUOTE}/thanks"), "the thank-you page")
    assert browser.find_element(By.CSS_SELECTOR, "body > p").text == THANKS
    assert_created(workspace, "Hopper & Co", {"Client size": "Small", "Amount": "950.00"})
    assert len(quotes(workspace)) == before + 1
    assert answers_400(browser) == 1
