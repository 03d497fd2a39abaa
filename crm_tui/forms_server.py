"""The web server of lead-capture forms (``crm-tui form serve``), on aiohttp.

    crm-tui form serve --host 127.0.0.1 --port 8080      # GET / lists the forms, GET/POST /f/<slug>

Plain HTML that works without JavaScript: labelled inputs, the errors next to their fields, the typed
values kept. Every POST must carry a CSRF token bound to a cookie and to the form (HMAC with a secret
of this process); bodies over ``MAX_BODY`` bytes are refused (413); each client address may submit
``rate_per_minute`` times a minute (429 beyond). A valid submission creates a record via
``domain.forms.submit_form`` and redirects to a thank-you page (POST → redirect → GET, so a reload does
not submit twice). Database calls run on one worker thread with its own connection, so a slow write
never stalls the event loop. Imported only by that command: the CLI and the TUI never load aiohttp.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import hashlib
import hmac
import html
import secrets
import signal
import sys
import time

from aiohttp import web

MAX_BODY = 64 * 1024
CSRF_COOKIE = "crm_form_csrf"
HONEYPOT = "website_url"  # hidden from people; bots fill it
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STYLE = """
body{font-family:system-ui,sans-serif;max-width:38rem;margin:2rem auto;padding:0 1rem;line-height:1.4}
label{display:block;font-weight:600;margin-top:1rem}
input[type=text],input[type=email],input[type=tel],input[type=url],input[type=date],select,textarea{
width:100%;padding:.4rem;box-sizing:border-box;font:inherit}
.error{color:#b00020;margin:.2rem 0 0}
.field.invalid input,.field.invalid select,.field.invalid textarea{border:2px solid #b00020}
.hp{position:absolute;left:-10000px}
button{margin-top:1.5rem;padding:.5rem 1.5rem;font:inherit}
.req{color:#b00020}
"""


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a sliding window, in memory)."""

    def __init__(self, limit: int, window: float = 60.0):
        self.limit = limit
        self.window = window
        self._hits: dict[str, collections.deque] = {}

    def allow(self, key: str, now: float | None = None) -> tuple[bool, int]:
        now = time.monotonic() if now is None else now
        hits = self._hits.setdefault(key, collections.deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False, max(1, int(hits[0] + self.window - now) + 1)
        hits.append(now)
        if len(self._hits) > 10_000:  # forget idle addresses
            for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                del self._hits[k]
        return True, 0


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def _input_html(item, value, error: str | None) -> str:
    """One labelled input for a form field (the type decides the widget)."""
    from .domain.field_types import _options
    from .domain.forms import input_name, reference_choices

    fdef = item.fdef
    name = input_name(fdef)
    ident = f"in-{name}"
    req = " required" if item.required else ""
    star = " <span class=req aria-hidden=true>*</span>" if item.required else ""
    err_id = f"err-{name}"
    aria = f" aria-invalid=true aria-describedby={err_id}" if error else ""
    label = f"<label for={ident}>{_e(fdef.name)}{star}</label>"
    t = fdef.type
    if t in ("long_text", "address"):
        widget = f"<textarea id={ident} name={name} rows=4{req}{aria}>{_e(value)}</textarea>"
    elif t == "dropdown":
        opts = "".join(f"<option{' selected' if value == o else ''}>{_e(o)}</option>"
                       for o in _options(fdef.config))
        widget = f"<select id={ident} name={name}{req}{aria}><option value=''>—</option>{opts}</select>"
    elif t == "multi_select":
        chosen = value if isinstance(value, list) else []
        boxes = "".join(
            f"<div><input type=checkbox id={ident}-{i} name={name} value='{_e(o)}'"
            f"{' checked' if o in chosen else ''}> <label style='display:inline;font-weight:400' "
            f"for={ident}-{i}>{_e(o)}</label></div>" for i, o in enumerate(_options(fdef.config)))
        return (f"<fieldset class='field{' invalid' if error else ''}'{aria}><legend>{_e(fdef.name)}{star}"
                f"</legend>{boxes}{_error_html(err_id, error)}</fieldset>")
    elif t == "checkbox":
        widget = (f"<input type=checkbox id={ident} name={name} value=yes{' checked' if value else ''}"
                  f"{req}{aria}>")
    elif t == "rating":
        top = int(fdef.config.get("max") or 5)
        opts = "".join(f"<option value={n}{' selected' if str(value) == str(n) else ''}>{'★' * n}</option>"
                       for n in range(1, top + 1))
        widget = f"<select id={ident} name={name}{req}{aria}><option value=''>—</option>{opts}</select>"
    elif t == "reference":
        titles = reference_choices(fdef)
        listing = "".join(f"<option value='{_e(x)}'>" for x in titles)
        widget = (f"<input type=text id={ident} name={name} value='{_e(value)}' list=dl-{name}{req}{aria}>"
                  f"<datalist id=dl-{name}>{listing}</datalist>")
    else:
        kind = {"email": "email", "phone": "tel", "url": "text", "date": "date"}.get(t, "text")
        extra = " inputmode=decimal" if t in ("number", "percent", "currency") else ""
        widget = (f"<input type={kind} id={ident} name={name} value='{_e(value)}' maxlength=10000"
                  f"{extra}{req}{aria}>")
    return f"<div class='field{' invalid' if error else ''}'>{label}{widget}{_error_html(err_id, error)}</div>"


def _error_html(err_id: str, error: str | None) -> str:
    return f"<p class=error id={err_id} role=alert>{_e(error)}</p>" if error else ""


def render_form(spec, token: str, values: dict | None = None, errors: dict | None = None) -> str:
    values, errors = values or {}, errors or {}
    parts = [f"<h1>{_e(spec.name)}</h1>"]
    if errors.get("_form"):
        parts.append(f"<p class=error role=alert>{_e(errors['_form'])}</p>")
    elif errors:
        parts.append(f"<p class=error role=alert>Please correct the {len(errors)} "
                     f"field{'s' if len(errors) > 1 else ''} marked below.</p>")
    parts.append(f"<form method=post action='/f/{_e(spec.slug)}' accept-charset=utf-8>")
    parts.append(f"<input type=hidden name=csrf_token value='{_e(token)}'>")
    title_err = errors.get("title")
    parts.append(
        f"<div class='field{' invalid' if title_err else ''}'><label for=in-title>{_e(spec.title_label)} "
        f"<span class=req aria-hidden=true>*</span></label><input type=text id=in-title name=title required "
        f"maxlength=500 value='{_e(values.get('title'))}'"
        f"{' aria-invalid=true aria-describedby=err-title' if title_err else ''}>"
        f"{_error_html('err-title', title_err)}</div>")
    from .domain.forms import input_name

    for item in spec.fields:
        key = input_name(item.fdef)
        parts.append(_input_html(item, values.get(key), errors.get(key)))
    parts.append(f"<div class=hp aria-hidden=true><label for=hp>Leave this empty</label>"
                 f"<input type=text id=hp name={HONEYPOT} tabindex=-1 autocomplete=off></div>")
    parts.append("<button type=submit>Send</button></form>")
    return _page(spec.name, "".join(parts))


class FormsApp:
    """The aiohttp application and its state (secret, rate limiter, database thread)."""

    def __init__(self, actor, *, rate_per_minute: int = 10, max_body: int = MAX_BODY):
        self.actor = actor
        self.secret = secrets.token_bytes(32)
        self.limiter = RateLimiter(rate_per_minute)
        self.db_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-forms-db")
        self.app = web.Application(client_max_size=max_body, middlewares=[self._headers])
        self.app.add_routes([
            web.get("/", self.index),
            web.get("/f/{slug}", self.show),
            web.post("/f/{slug}", self.submit),
            web.get("/f/{slug}/thanks", self.thanks),
        ])
        self.app.on_cleanup.append(self._close)

    async def _close(self, app) -> None:
        self.db_thread.shutdown(wait=False)

    @web.middleware
    async def _headers(self, request, handler):
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    async def db(self, fn, *args):
        """Run a blocking domain call on the database thread (which keeps its own connection)."""
        from .db.connection import database

        def call():
            database.connect(reuse_if_open=True)
            return fn(*args)

        return await asyncio.get_running_loop().run_in_executor(self.db_thread, call)

    def _token(self, nonce: str, slug: str) -> str:
        return hmac.new(self.secret, f"{nonce}|{slug}".encode(), hashlib.sha256).hexdigest()

    def _nonce(self, request) -> tuple[str, bool]:
        nonce = request.cookies.get(CSRF_COOKIE, "")
        if len(nonce) == 43 and all(c.isalnum() or c in "-_" for c in nonce):
            return nonce, False
        return secrets.token_urlsafe(32), True

    def _html(self, text: str, status: int = 200, nonce: str | None = None) -> web.Response:
        response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
        if nonce:
            response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/")
        return response

    async def _spec(self, slug: str):
        from .domain.forms import load_form
        from .errors import NotFoundError

        try:
            return await self.db(load_form, slug)
        except NotFoundError:
            raise web.HTTPNotFound(text=_page("Not found", "<h1>No such form</h1><p><a href='/'>All forms</a></p>"),
                                   content_type="text/html") from None

    async def index(self, request):
        from .domain.forms import active_forms

        forms = await self.db(active_forms)
        items = "".join(f"<li><a href='/f/{_e(slug)}'>{_e(name)}</a></li>" for slug, name, _ in forms)
        body = f"<h1>Forms</h1><ul>{items}</ul>" if items else "<h1>Forms</h1><p>No forms yet.</p>"
        return self._html(_page("Forms", body))

    async def show(self, request):
        slug = request.match_info["slug"]
        spec = await self._spec(slug)
        nonce, new = self._nonce(request)
        return self._html(render_form(spec, self._token(nonce, spec.slug)), nonce=nonce if new else None)

    async def submit(self, request):
        slug = request.match_info["slug"]
        address = request.remote or "unknown"
        allowed, retry = self.limiter.allow(address)
        if not allowed:
            return web.Response(text=_page("Too many submissions", "<h1>Too many submissions</h1>"
                                           f"<p>Please try again in {retry} seconds.</p>"),
                                status=429, content_type="text/html", headers={"Retry-After": str(retry)})
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
        spec = await self._spec(slug)
        post = await request.post()  # aiohttp refuses bodies over client_max_size with 413
        data: dict = {}
        for key in set(post.keys()):
            items = [v for v in post.getall(key) if isinstance(v, str)]  # uploads are ignored
            data[key] = items if self._is_multi(spec, key) else (items[0] if items else "")
        nonce = request.cookies.get(CSRF_COOKIE, "")
        token = str(data.get("csrf_token") or "")
        if not nonce or not hmac.compare_digest(token, self._token(nonce, spec.slug)):
            return self._html(_page("Form expired", "<h1>This form has expired</h1>"
                                    f"<p><a href='/f/{_e(spec.slug)}'>Reload the form</a> and send it again "
                                    "(cookies must be allowed).</p>"), status=403)
        if data.get(HONEYPOT):
            raise web.HTTPSeeOther(f"/f/{spec.slug}/thanks")  # a bot: pretend all went well
        from .domain.forms import submit_form

        from .errors import CrmError

        try:
            _, errors = await self.db(submit_form, spec, data, self.actor)
        except CrmError as exc:  # e.g. the form's list was renamed meanwhile: say so, keep the input
            errors = {"_form": exc.message}
        if errors:
            return self._html(render_form(spec, token, data, errors), status=400)
        raise web.HTTPSeeOther(f"/f/{spec.slug}/thanks")

    @staticmethod
    def _is_multi(spec, key: str) -> bool:
        from .domain.forms import input_name

        return any(input_name(i.fdef) == key and i.fdef.type == "multi_select" for i in spec.fields)

    async def thanks(self, request):
        spec = await self._spec(request.match_info["slug"])
        return self._html(_page(spec.name, f"<h1>{_e(spec.name)}</h1><p>{_e(spec.thanks)}</p>"))


async def _serve(forms: FormsApp, host: str, port: int) -> None:
    runner = web.AppRunner(forms.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1] if site._server and site._server.sockets else port
    shown = f"[{host}]" if ":" in host else host
    print(f"serving forms on http://{shown}:{bound}/ (Ctrl-C stops)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(url: str, user_name: str, *, host: str = "127.0.0.1", port: int = 8080, rate_per_minute: int = 10) -> None:
    """Serve the forms until Ctrl-C or SIGTERM. Submissions are attributed to ``user_name``."""
    from .domain.actors import resolve_actor

    actor = resolve_actor(user_name)
    forms = FormsApp(actor, rate_per_minute=rate_per_minute)
    try:
        asyncio.run(_serve(forms, host, port))
    except OSError as exc:
        from .errors import ConfigError

        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        forms.db_thread.shutdown(wait=True)
    print("stopped", file=sys.stderr)
