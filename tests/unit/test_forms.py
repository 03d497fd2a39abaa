"""Lead-capture forms: the domain (define, validate, submit) and the real server (`crm-tui form serve`)
started on 127.0.0.1 on a free port, driven by a real HTTP client (urllib with a cookie jar)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from crm_tui.cli import main
from crm_tui.db.models import Event, Record
from crm_tui.domain.actors import Actor, add_user
from crm_tui.domain.forms import add_form, list_forms, load_form, remove_form, submit_form
from crm_tui.domain.projects import add_field, add_list, add_project
from crm_tui.domain.record_views import list_records, show_record
from crm_tui.errors import NotFoundError, PermissionDenied, ValidationError


@pytest.fixture
def leads(admin):
    add_user("sam", by=admin)
    add_project(admin, "Leads")
    add_list(admin, "Leads", "Inbox")
    add_list(admin, "Leads", "New")
    add_field(admin, "Leads", "Email", "email")
    add_field(admin, "Leads", "Budget", "currency", currency="USD")
    add_field(admin, "Leads", "Source", "dropdown", options=["Web", "Event"])
    add_field(admin, "Leads", "Interests", "multi_select", options=["SEO", "Ads", "Design"])
    add_field(admin, "Leads", "Message", "long_text")
    add_field(admin, "Leads", "Newsletter", "checkbox")
    add_field(admin, "Leads", "Twice", "formula", formula="{Budget} * 2")
    add_form(admin, "Leads", "Contact us", fields=["Email", "Budget", "Source", "Interests", "Message",
                                                    "Newsletter"],
             required=["Email"], list_name="New", tags=["Website"], assignee="sam", thanks="Thanks, talk soon!")
    return admin


def names(spec) -> dict[str, str]:
    return {item.fdef.name: f"f{item.fdef.id}" for item in spec.fields}


def test_define_list_and_remove_forms(leads):
    forms = list_forms("Leads")
    assert [(f["slug"], f["list"], f["tags"], f["assignee"]) for f in forms] == [
        ("contact-us", "New", ["Website"], "sam")]
    assert [(x["name"], x["required"]) for x in forms[0]["fields"]][:2] == [("Email", True), ("Budget", False)]
    second = add_form(leads, "Leads", "Contact us", fields=["Email"])
    assert second["slug"] == "contact-us-2"
    with pytest.raises(NotFoundError, match="fields: Email"):
        add_form(leads, "Leads", "X", fields=["Nope"])
    with pytest.raises(ValidationError, match="formula"):
        add_form(leads, "Leads", "X", fields=["Twice"])
    with pytest.raises(PermissionDenied):
        add_form(Actor(id=None, name="guest"), "Leads", "X")
    assert remove_form(leads, "contact-us-2") == "Contact us"
    with pytest.raises(NotFoundError, match="contact-us"):
        remove_form(leads, "nope")


def test_submission_is_validated_field_by_field(leads):
    spec = load_form("contact-us")
    n = names(spec)
    before = Record.select().count()
    record_id, errors = submit_form(spec, {"title": "", n["Budget"]: "lots", n["Source"]: "Radio"}, leads)
    assert record_id is None and Record.select().count() == before
    assert set(errors) == {"title", n["Email"], n["Budget"], n["Source"]}
    assert errors[n["Email"]] == "this field is required" and "amount" in errors[n["Budget"]]
    record_id, errors = submit_form(spec, {"title": "Ada", n["Email"]: "ada@example.com", n["Budget"]: "$1,500",
                                           n["Interests"]: ["SEO", "Design"], n["Newsletter"]: "yes"}, leads)
    assert errors == {}
    item = show_record(leads, record_id)
    assert (item["list"], item["tags"], item["assignee"]) == ("New", ["Website"], "sam")
    assert item["fields"]["Budget"] == "1500.00" and item["fields"]["Twice"] == "3000.00"
    assert item["fields"]["Interests"] == ["SEO", "Design"] and item["fields"]["Newsletter"] is True
    assert Event.select().where((Event.record == record_id) & (Event.kind == "created")).count() == 1


def test_cli_form_add_list_remove(leads, capsys):
    assert main(["form", "add", "Leads", "Quote request", "--user", "admin", "--field", "Budget",
                 "--require", "Budget", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["slug"] == "quote-request" and made["fields"] == [
        {"name": "Budget", "type": "currency", "required": True}]
    assert main(["form", "list", "--user", "admin", "--json"]) == 0
    assert [f["slug"] for f in json.loads(capsys.readouterr().out)] == ["contact-us", "quote-request"]
    assert main(["form", "remove", "quote-request", "--user", "admin"]) == 0
    assert main(["form", "add", "Leads", "Bad", "--user", "admin", "--list", "Nowhere"]) == 3


# ------------------------------------------------------------------------------------------------
# the real server


class Server:
    def __init__(self, db_url: str, rate: int):
        env = dict(os.environ, CRM_TUI_DB=db_url, CRM_TUI_USER="admin", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "crm_tui", "form", "serve", "--host", "127.0.0.1",
                                      "--port", "0", "--rate", str(rate)], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # "serving forms on http://127.0.0.1:PORT/ ..."
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not match:
            self.stop()
            raise RuntimeError(f"server did not start: {line!r} {self.proc.stderr.read()}")
        self.base = f"http://127.0.0.1:{match[1]}"
        self.jar = http.cookiejar.CookieJar()
        # no proxy, whatever the environment says: the server is on this machine
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: dict | bytes | None = None, *, cookies: bool = True):
        body = None
        if isinstance(data, dict):
            body = urllib.parse.urlencode(data, doseq=True).encode()
        elif data is not None:
            body = data
        req = urllib.request.Request(self.base + path, data=body)
        opener = self.opener if cookies else urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=10) as resp:
                return resp.status, resp.geturl(), resp.read().decode(), resp.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read().decode(), exc.headers

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(leads, db_url):
    srv = Server(db_url, rate=6)
    yield srv
    srv.stop()


def token_of(page: str) -> str:
    return re.search(r"name=csrf_token value='([0-9a-f]+)'", page)[1]


def test_served_forms_over_http(server, leads):
    spec = load_form("contact-us")
    n = names(spec)
    status, _, page, headers = server.request("/")
    assert status == 200 and "href='/f/contact-us'>Contact us</a>" in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    status, _, page, _ = server.request("/f/contact-us")
    assert status == 200 and "<script" not in page
    for ident in re.findall(r"<(?:input|select|textarea)[^>]* id=(in-[\w-]+)", page):
        assert f"for={ident}>" in page  # every input is labelled
    token = token_of(page)
    assert any(c.name == "crm_form_csrf" for c in server.jar)
    before = Record.select().count()

    # 1: no cookie and no token → refused
    status, _, page, _ = server.request("/f/contact-us", {"title": "Spam"}, cookies=False)
    assert status == 403 and "expired" in page
    # 2: invalid values → the form again, errors next to their fields, input kept
    status, _, page, _ = server.request("/f/contact-us", {"csrf_token": token, "title": "Ada <b>",
                                                          n["Budget"]: "lots", n["Source"]: "Web"})
    assert status == 400
    assert re.search(rf"id=in-{n['Email']}[^>]*>\s*<p class=error id=err-{n['Email']} role=alert>"
                     r"this field is required</p>", page)
    assert re.search(rf"name={n['Budget']} value='lots'[^>]*>\s*<p class=error id=err-{n['Budget']}", page)
    assert "value='Ada &lt;b&gt;'" in page and "<option selected>Web</option>" in page
    assert Record.select().count() == before
    # 3: valid → redirect to the thank-you page, one record with the form's defaults
    status, url, page, _ = server.request("/f/contact-us", {
        "csrf_token": token, "title": "Ada Lovelace", n["Email"]: "ada@example.com", n["Budget"]: "$2,500",
        n["Interests"]: ["SEO", "Ads"], n["Message"]: "Call me\nafter 5", n["Newsletter"]: "yes"})
    assert status == 200 and url.endswith("/f/contact-us/thanks") and "Thanks, talk soon!" in page
    made = [r for r in list_records(leads, "Leads") if r["title"] == "Ada Lovelace"]
    assert len(made) == 1
    item = made[0]
    assert (item["list"], item["tags"], item["assignee"]) == ("New", ["Website"], "sam")
    assert item["fields"]["Budget"] == "2500.00" and item["fields"]["Interests"] == ["SEO", "Ads"]
    assert item["fields"]["Message"] == "Call me\nafter 5"
    # 4: a bot filling the hidden field is thanked and ignored
    status, url, _, _ = server.request("/f/contact-us", {"csrf_token": token, "title": "Bot",
                                                         n["Email"]: "b@x.io", "website_url": "http://spam"})
    assert status == 200 and url.endswith("/thanks")
    assert Record.select().where(Record.title == "Bot").count() == 0
    # 5: a body over the limit → 413
    status, _, _, _ = server.request("/f/contact-us", b"title=" + b"x" * 70_000)
    assert status == 413
    # 6: unknown form → 404
    assert server.request("/f/nope")[0] == 404
    # 7: the sixth POST of this address within a minute is refused (POSTs 1–5 above, the limit is 6)
    assert server.request("/f/contact-us", {"csrf_token": token, "title": ""})[0] == 400
    status, _, _, headers = server.request("/f/contact-us", {"csrf_token": token, "title": "Late",
                                                             n["Email"]: "l@x.io"})
    assert status == 429 and int(headers["Retry-After"]) >= 1
    assert Record.select().where(Record.title == "Late").count() == 0
