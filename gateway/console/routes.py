"""The support console's pages under ``/admin``: server-rendered HTML, plain forms, no JavaScript.

Every page needs a signed-in staff member; reveal, replay, bulk replay and the audit log need an operator.
The pages call the same functions as the JSON API (:mod:`gateway.api.support`), so masking, audit and replay
behave the same in both.

See docs/ARCHITECTURE.md, "Support API and console".
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec
import yaml
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import CacheControlHeader, ResponseHeader, State
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from gateway.api import support
from gateway.api.admin import STATS_WINDOW, staff_of
from gateway.api.auth import find_staff
from gateway.api.campaign_views import campaign_list
from gateway.api.deps import ClockDep, DispatcherDep, SettingsDep, StoreDep
from gateway.api.filters import FILTER_PARAMS, KST, InvalidFilter, parse_search, search_errors
from gateway.api.problems import Problem, problem_of
from gateway.api.refusals import parse_refusal_search, refusal_detail_view, refusal_view
from gateway.api.views import audit_answer, detail_view, iso, message_view, stats_view
from gateway.console.changes import normalisation_changes
from gateway.console.pages import kst, kst_input, masker, pretty_json, preview, query_url, timeline
from gateway.console.session import (
    SignInRequired,
    require_console_operator,
    require_console_staff,
    reveal_granted,
    sign_in,
    sign_out,
    start_reveal,
)
from gateway.errors import GatewayError
from gateway.events import log_event
from gateway.models import MessageDetail, Status
from gateway.normalise.errors import FieldError
from gateway.settings import CHANNEL_VENDORS
from gateway.store.base import MessageFilter, Store

__all__ = ("ConsoleController",)

_STAFF = [require_console_staff]
_OPERATOR = [require_console_operator]
_FAILURES_SHOWN = 10
_CAMPAIGNS_SHOWN = 5
_AUDIT_PAGE = 50
_SEARCH_KEYS = (*FILTER_PARAMS, "limit")
#: Beside the message states, "refused" searches the refused ingests (issue 11), which are not messages.
_REFUSED = "refused"
_CHOICES = {
    "statuses": [*(status.value for status in Status), _REFUSED],
    "channels": list(CHANNEL_VENDORS),
    "vendors": sorted({vendor for vendors in CHANNEL_VENDORS.values() for vendor in vendors}),
}


#: The email preview frame: the HTML's own styles, no scripts, no remote images (loading them could count as the
#: user opening the mail in the vendor's tracking), shown only inside the console's own message page.
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_OPENAPI_JSON = "application/vnd.oai.openapi+json"
_OPENAPI_YAML = "application/vnd.oai.openapi"
_EMAIL_PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'self'; sandbox"
)


def _page(name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=name, context=context, status_code=status_code)


def _to_sign_in(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    """To the sign-in form, which comes back to the page asked for (a form's target is no page: the dashboard)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(query_url("/admin/sign-in", {"next": target if request.method == "GET" else None}), status_code=303)


def _problem_page(request: Request[Any, Any, Any], exc: Problem) -> Template:
    errors = exc.errors or []
    return _page("error.html", exc.status, status=exc.status, detail=exc.detail, errors=errors, staff=_staff(request))


def _refusal_page(request: Request[Any, Any, Any], exc: GatewayError) -> Template:
    return _problem_page(request, problem_of(exc))


def _csrf_page(request: Request[Any, Any, Any], _: PermissionDeniedException) -> Template:
    detail = (
        "양식이 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도하세요. The form expired: reload the page and try again."
    )
    return _page("error.html", 403, status=403, detail=detail, errors=[], staff=_staff(request))


def _staff(request: Request[Any, Any, Any]) -> Any:
    return request.scope.get("staff")


def _safe_next(target: str | None) -> str:
    """Only a console path: a sign-in link must not send anyone elsewhere."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return "/admin"


class ConsoleController(Controller):
    """The console; its session and CSRF middleware are added by :func:`gateway.console.console_handlers`."""

    path = "/admin"
    include_in_schema = False
    # Pages show personal data: never cached, never framed (a framed replay button could be clicked unawares).
    cache_control = CacheControlHeader(no_store=True)
    response_headers = (
        ResponseHeader(name="X-Frame-Options", value="DENY"),
        ResponseHeader(name="Content-Security-Policy", value="default-src 'self'; frame-ancestors 'none'"),
        ResponseHeader(name="Referrer-Policy", value="same-origin"),
    )
    # The console answers its errors with pages, not the API's problem details.
    exception_handlers = {  # noqa: RUF012 - Litestar's own attribute, read once when the app is built
        SignInRequired: _to_sign_in,
        Problem: _problem_page,
        GatewayError: _refusal_page,
        PermissionDeniedException: _csrf_page,
    }

    @get("/sign-in")
    async def sign_in_page(self, next_page: Annotated[str | None, QueryParameter(name="next")] = None) -> Template:
        """The sign-in form."""
        return _page("sign_in.html", next_page=_safe_next(next_page), failed=False)

    @post("/sign-in", status_code=303)
    async def sign_in_submit(self, request: Request[Any, Any, State], settings: SettingsDep) -> Response[Any]:
        """Check the token; a wrong one is a 401 that does not say why."""
        form = await request.form()
        member = find_staff(str(form.get("token", "")).strip() or None, settings.staff_tokens)
        target = _safe_next(str(form.get("next", "")))
        if member is None:
            log_event("console.sign_in_failed", level=logging.WARNING)
            return _page("sign_in.html", 401, next_page=target, failed=True)
        await sign_in(request, member)
        log_event("console.sign_in", staff=member.name, role=member.role)
        return Redirect(target, status_code=303)

    @post("/sign-out", guards=_STAFF, status_code=303)
    async def sign_out_submit(self, request: Request[Any, Any, State]) -> Redirect:
        """End the session, on the server too: a copy of the cookie no longer works."""
        await sign_out(request)
        return Redirect("/admin/sign-in", status_code=303)

    @get("/", guards=_STAFF)
    async def dashboard(self, request: Request[Any, Any, State], store: StoreDep, clock: ClockDep) -> Template:
        """Counts of the last day its failures by vendor code and its campaigns."""
        end = clock()
        start = end - STATS_WINDOW
        counts = await store.window_counts(created_from=start, created_to=end)
        failures = await store.failures_by_code(since=start, until=end, limit=_FAILURES_SHOWN)
        since = kst_input(start)
        refused = await store.count_refusals(created_from=start, created_to=end)
        stats = stats_view(counts, failures, start, end, refused=refused)
        campaigns = await store.recent_campaigns(since=start, until=end, limit=_CAMPAIGNS_SHOWN)
        recent = campaign_list(campaigns, start, end).items
        return _page("dashboard.html", staff=staff_of(request), stats=stats, since=since, campaigns=recent)

    @get("/messages", guards=_STAFF)
    async def search(self, request: Request[Any, Any, State], store: StoreDep) -> Template:
        """The search form and one page of results."""
        params = {key: request.query_params.get(key) for key in (*_SEARCH_KEYS, "cursor")}
        refused = (params.get("status") or "").strip().lower() == _REFUSED
        try:
            if refused:  # refused ingests, not messages: listed without the bulk replay (nothing to send)
                found = parse_refusal_search(params, naive_tz=KST)
                refusals = await store.search_refusals(found.criteria, limit=found.limit, cursor=found.cursor)
                cursor = refusals.next_cursor
            else:
                search = parse_search(params, naive_tz=KST)
                page = await store.search(search.criteria, limit=search.limit, cursor=search.cursor)
                cursor = page.next_cursor
        except ValueError as exc:
            return self._search_page(request, params, errors=search_errors(exc), status_code=400)
        next_url = query_url("/admin/messages", params, cursor=cursor) if cursor else None
        if refused:
            shown = [refusal_view(refusal) for refusal in refusals.items]
            return self._search_page(request, params, refusals=shown, next_url=next_url)
        rows = [message_view(m) for m in page.items]
        return self._search_page(request, params, rows=rows, next_url=next_url, searched=True)

    @get("/refusals/{refusal_id:str}", guards=_STAFF)
    async def refusal(self, request: Request[Any, Any, State], store: StoreDep, refusal_id: FromPath[str]) -> Template:
        """One refused ingest: what Braze was answered, the field errors and the body (masked)."""
        refusal = await store.get_refusal(refusal_id)
        if refusal is None:
            raise Problem(404, "이 거부 기록이 없습니다. No refusal has this id.")
        return _page("refusal.html", staff=staff_of(request), view=refusal_detail_view(refusal))

    def _search_page(
        self,
        request: Request[Any, Any, State],
        params: dict[str, str | None],
        *,
        rows: list[Any] | None = None,
        refusals: list[Any] | None = None,
        next_url: str | None = None,
        errors: list[FieldError] | None = None,
        searched: bool = False,
        status_code: int = 200,
    ) -> Template:
        filters = {key: params.get(key) or "" for key in FILTER_PARAMS}
        bulk = {key: request.query_params.get(key) for key in ("count", "more")}
        return _page(
            "search.html",
            status_code,
            staff=staff_of(request),
            filters=filters,
            rows=rows or [],
            refusals=refusals,
            next_url=next_url,
            errors=errors or [],
            searched=searched and any(filters.values()),
            bulk=bulk,
            **_CHOICES,
        )

    @get("/messages/{message_id:str}", guards=_STAFF)
    async def message(
        self,
        request: Request[Any, Any, State],
        store: StoreDep,
        clock: ClockDep,
        message_id: FromPath[str],
    ) -> Template:
        """One message: summary, preview, timeline, normalised form and vendor request, masked unless revealed."""
        detail = await self._detail(store, message_id)
        until = reveal_granted(request, message_id, now=clock())
        revealed = until is not None and staff_of(request).role == "operator"
        view = detail_view(detail, reveal=revealed)
        mask = masker(detail.record, reveal=revealed)
        child = await store.get(detail.record.child_id) if detail.record.child_id else None
        changes = normalisation_changes(detail.raw_body, detail.record.message, mask)
        # A fallback message is replayed as its LMS (see gateway.api.support.replay_message).
        replayed_record = child.record if child and detail.record.status is Status.FALLBACK else detail.record
        return _page(
            "message.html",
            staff=staff_of(request),
            view=view,
            steps=timeline(view, changes=changes, child=detail_view(child) if child else None),
            changes=changes,
            preview=preview(detail.record, mask),
            normalised=pretty_json(view.normalised),
            vendor_request=pretty_json(view.vendorRequest) if view.vendorRequest else None,
            raw_body=detail.raw_body.decode("utf-8", "replace") if revealed else None,
            reveal_until=kst(iso(until)) if revealed else None,
            replayable=support.replay_refusal(replayed_record) is None,
            replays_child=replayed_record is not detail.record,
            replayed=request.query_params.get("replayed") == "1",
        )

    @get("/messages/{message_id:str}/email-preview", guards=_STAFF, media_type=MediaType.HTML)
    async def email_preview(
        self, request: Request[Any, Any, State], store: StoreDep, clock: ClockDep, message_id: FromPath[str]
    ) -> Response[str]:
        """The HTML of an email, alone, for the message page's sandboxed frame (masked unless revealed)."""
        detail = await self._detail(store, message_id)
        if detail.record.message.channel != "email":
            raise Problem(404, "이 메시지는 이메일이 아닙니다. This message is not an email.")
        granted = reveal_granted(request, message_id, now=clock()) is not None
        revealed = granted and staff_of(request).role == "operator"
        html = preview(detail.record, masker(detail.record, reveal=revealed)).text
        headers = {"Content-Security-Policy": _EMAIL_PREVIEW_CSP, "X-Frame-Options": "SAMEORIGIN"}
        return Response(html, media_type=MediaType.HTML, headers=headers)

    async def _detail(self, store: Store, message_id: str) -> MessageDetail:
        detail: MessageDetail | None = await store.get(message_id)
        if detail is None:
            raise Problem(404, "이 메시지가 없습니다. No message has this id.")
        return detail

    @post("/messages/{message_id:str}/reveal", guards=_OPERATOR, status_code=303)
    async def reveal(
        self,
        request: Request[Any, Any, State],
        store: StoreDep,
        clock: ClockDep,
        message_id: FromPath[str],
    ) -> Redirect:
        """Audit a reveal, then show the message page unmasked (a reload neither posts nor audits again)."""
        now = clock()
        await support.reveal_message(store, staff_of(request), message_id, now=now)
        start_reveal(request, message_id, now=now)
        return Redirect(f"/admin/messages/{message_id}", status_code=303)

    @post("/messages/{message_id:str}/replay", guards=_OPERATOR, status_code=303)
    async def replay(
        self,
        request: Request[Any, Any, State],
        store: StoreDep,
        clock: ClockDep,
        dispatcher: DispatcherDep,
        message_id: FromPath[str],
    ) -> Redirect:
        """Queue a finished message again (a fallback message: its LMS); audited."""
        await support.replay_message(store, staff_of(request), message_id, now=clock())
        dispatcher.wake()
        return Redirect(f"/admin/messages/{message_id}?replayed=1", status_code=303)

    @post("/replay/confirm", guards=_OPERATOR, status_code=200)
    async def bulk_replay_confirm(
        self,
        request: Request[Any, Any, State],
        store: StoreDep,
        clock: ClockDep,
    ) -> Template:
        """Count what a bulk replay of the search's filters would send, and ask to confirm it."""
        params, criteria = await self._bulk_filters(request)
        staff = staff_of(request)
        result = await support.bulk_replay(store, staff, criteria, dry_run=True, now=clock())
        shown = {key: value for key, value in params.items() if value}
        back = query_url("/admin/messages", params)
        return _page("replay_confirm.html", staff=staff, filters=shown, result=result, back=back)

    @post("/replay", guards=_OPERATOR, status_code=303)
    async def bulk_replay(
        self,
        request: Request[Any, Any, State],
        store: StoreDep,
        clock: ClockDep,
        dispatcher: DispatcherDep,
    ) -> Redirect:
        """Replay the finished messages matching the confirmed filters; audited."""
        params, criteria = await self._bulk_filters(request)
        result = await support.bulk_replay(store, staff_of(request), criteria, dry_run=False, now=clock())
        if result.count:
            dispatcher.wake()
        outcome = {"count": str(result.count), "more": "1" if result.more else ""}
        return Redirect(query_url("/admin/messages", params, **outcome), status_code=303)

    async def _bulk_filters(self, request: Request[Any, Any, State]) -> tuple[dict[str, str | None], MessageFilter]:
        form = await request.form()
        params: dict[str, str | None] = {key: str(form.get(key, "")) for key in FILTER_PARAMS}
        try:
            return params, parse_search(params, naive_tz=KST).criteria
        except InvalidFilter as exc:
            raise Problem(400, "검색 조건이 올바르지 않습니다. Invalid filter.", errors=exc.errors) from None

    @get("/api", guards=_STAFF)
    async def api_docs(self, request: Request[Any, Any, State]) -> Template:
        """The JSON API's operations, read from its OpenAPI document and shown without any script."""
        schema = request.app.openapi_schema.to_schema()
        operations = [
            {"method": method.upper(), "path": path, **operation}
            for path, item in schema.get("paths", {}).items()
            for method, operation in item.items()
            if method in _HTTP_METHODS
        ]
        return _page("api.html", staff=staff_of(request), info=schema.get("info", {}), operations=operations)

    @get("/api/openapi.json", guards=_STAFF)
    async def openapi_json(self, request: Request[Any, Any, State]) -> Response[bytes]:
        """The OpenAPI document (as ``/schema/openapi.json`` gives it to staff tokens), for a signed-in session."""
        schema = request.app.openapi_schema.to_schema()
        return Response(msgspec.json.encode(schema), media_type=_OPENAPI_JSON)

    @get("/api/openapi.yaml", guards=_STAFF)
    async def openapi_yaml(self, request: Request[Any, Any, State]) -> Response[str]:
        """The OpenAPI document as YAML."""
        schema = request.app.openapi_schema.to_schema()
        return Response(yaml.safe_dump(schema, allow_unicode=True, sort_keys=False), media_type=_OPENAPI_YAML)

    @get("/audit", guards=_OPERATOR)
    async def audit(
        self, request: Request[Any, Any, State], store: StoreDep, cursor: FromQuery[str | None] = None
    ) -> Template:
        """The audit log, newest first."""
        try:
            page = await store.audit_log(limit=_AUDIT_PAGE, cursor=cursor)
        except ValueError:
            raise Problem(400, "Invalid cursor.") from None
        answer = audit_answer(page)
        next_url = query_url("/admin/audit", {"cursor": answer.nextCursor}) if answer.nextCursor else None
        return _page("audit.html", staff=staff_of(request), entries=answer.items, next_url=next_url)
