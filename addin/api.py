"""The AchieveIt client: submit a CSV, ask for a job's status, wait for it; read a plan's items.

    POST {base}/api/progressupdates/<name>        body = CSV bytes  -> 200 + Job ID
    GET  {base}/api/progressupdates/status/<id>   -> 202 processing, 200 done, 400/500 failed
    GET  {base}/plans/<plan id>/items?skip=&take= -> 200 + items (JSON), 403 no access, 404

Every request goes through one funnel (`_send`) that follows 307/308 redirects itself (never
sending the key to another host), and every failure becomes one of the exceptions of
`addin.errors` with a message a plan owner can act on. Rules that keep users out of trouble:

- A POST is never retried: once it may have reached AchieveIt, a second one could queue the same
  updates twice. When we can't tell whether it arrived, the error says `maybe_queued=True`.
- GETs (status polls, plan items) are safe to repeat: they retry on dropped connections,
  timeouts, 429 and 502/503/504, honouring Retry-After. A 500 from the status endpoint is a
  failed job (the seed article says so), not a fault to retry.
- The API key is sent only to the configured origin and never appears in a message or repr.

The base URL and upload name are checked in addin/endpoints.py; answers are turned into words
(and the key redacted from them) in addin/responses.py. Both are pure.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urljoin

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from addin.endpoints import (
    DEFAULT_SUBDOMAIN,
    GOV_SUBDOMAIN,
    check_upload_name,
    origin,
    resolve_base_url,
    shown_host,
    upload_name,
)
from addin.errors import ApiError, AuthError, ConfigError, JobTimeout, NetworkError
from addin.planitems import Page, PlanItem, check_plan_id, item_from_record, read_page, record_key
from addin.responses import (
    JOB_ID,
    RAW_BODY_LIMIT,
    backoff,
    decode_body,
    full_text,
    job_id_from_body,
    looks_like_html,
    redact,
    retry_after,
    summary,
    trim,
    wait_words,
)

__all__ = [
    "JobState",
    "JobStatus",
    "ProgressUpdatesClient",
    "Submission",
    "resolve_base_url",
    "upload_name",
]

SUBMIT_PATH = "/api/progressupdates/"
STATUS_PATH = "/api/progressupdates/status/"
ITEMS_PATH = "/plans/{plan}/items"  # the help article "Exporting Plan Items"
DEFAULT_TAKE = 100  # the article's default page size
MAX_ITEMS = 100_000  # a guard against a server that pages forever with new items
_STATUS_WORDS = "while checking the job status"
_T = TypeVar("_T")

MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MIN_REQUEST_SECONDS = 0.5  # a request near a deadline still gets this long to be answered

_KEY = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: anything else can't be a header


# --------------------------------------------------------------------------- results


class JobState(enum.Enum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: JobState
    http_status: int
    message: str  # the server's text on one line, trimmed for alerts, or a plain default
    # The server's whole text, line breaks kept (HTML tags stripped, JSON unwrapped, key
    # redacted, at most BODY_LIMIT characters): failure lines are matched to rows by External ID.
    body: str = ""


@dataclass(frozen=True)
class Submission:
    job_id: str
    http_status: int
    raw_body: str
    url: str


class _OutOfTime(Exception):
    """Internal: a status deadline passed while `error` (a transient fault) was unresolved."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error


# --------------------------------------------------------------------------- TLS


class _SSLContextAdapter(HTTPAdapter):
    """Verifies TLS with the given context (the OS trust store), for direct and proxied hosts."""

    def __init__(self, ssl_context: ssl.SSLContext, **kwargs: Any) -> None:
        self._ssl_context = ssl_context  # before super(): it calls init_poolmanager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
        pool_kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)


def _new_session() -> requests.Session:
    session = requests.Session()
    try:
        # Lazy: corporate networks re-sign TLS with a root that lives in the OS store only.
        import truststore
    except ImportError:  # pragma: no cover - truststore is a dependency; requests' CAs remain
        return session
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    session.mount("https://", _SSLContextAdapter(context))
    return session


def _user_agent() -> str:
    from addin import __version__

    return f"achieveit-progress-updates/{__version__}"


class _ApiKeyAuth(AuthBase):
    """Sets `Authorization: API-KEY <key>`. Passing it as `auth` also stops requests from
    replacing the header with credentials from a ~/.netrc file."""

    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"API-KEY {self._key}"
        return request

    def __repr__(self) -> str:
        return "<API key hidden>"


# --------------------------------------------------------------------------- the client


class ProgressUpdatesClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        status_retries: int = 5,
    ) -> None:
        self.base_url = resolve_base_url(base_url=base_url)
        key = (api_key or "").strip()
        if not key:
            raise ConfigError("No API key is set: use Set API Key / `achieveit-updates login`.")
        if not _KEY.fullmatch(key):
            raise ConfigError(
                "The API key contains spaces, line breaks or other characters that can't be "
                "sent: copy it again from AchieveIt and set it with Set API Key."
            )
        self._key = key
        self._auth = _ApiKeyAuth(key)
        self._owns_session = session is None
        self._session = session if session is not None else _new_session()
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._status_retries = max(0, int(status_retries))
        self._user_agent = _user_agent()
        self._origin = origin(self.base_url)

    def __repr__(self) -> str:
        return f"ProgressUpdatesClient({self.base_url!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> ProgressUpdatesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------------- submit

    def submit(self, csv_bytes: bytes, name: str) -> Submission:
        """POST the CSV. Never retried: see the module docstring."""
        check_upload_name(name)
        url = self.base_url + SUBMIT_PATH + name
        headers = {"Content-Type": "text/csv; charset=utf-8"}
        try:
            response = self._send("POST", url, body=csv_bytes, headers=headers)
        except requests.RequestException as exc:
            raise self._network_error(exc, "POST", url)[0] from exc
        return self._submission(response, url)

    def _submission(self, response: requests.Response, url: str) -> Submission:
        code = response.status_code
        text = self._text(response)
        if 200 <= code < 300:
            job_id = job_id_from_body(text)
            if job_id is None:
                raise ApiError(
                    f"AchieveIt answered {code} but sent back no Job ID, so the upload may have "
                    "been queued anyway. Check in AchieveIt (or the job list) before sending "
                    f"again. It said: {self._shown(text)}",
                    http_status=code,
                    body=trim(text, RAW_BODY_LIMIT),
                    maybe_queued=True,
                )
            return Submission(job_id, code, trim(text, RAW_BODY_LIMIT), url)
        shown = self._shown(text)
        body = trim(text, RAW_BODY_LIMIT)
        if code in (401, 403):
            raise self._auth_error(code, shown, body)
        if code == 404:
            message = (
                f"Not found at {url}: the API subdomain or base URL is probably wrong "
                f"('{DEFAULT_SUBDOMAIN}', or '{GOV_SUBDOMAIN}' for government)."
            )
        elif code == 413:
            message = (
                "The file is too large for AchieveIt (413): split the updates into smaller "
                f"batches and send them one at a time. It said: {shown}"
            )
        elif code == 429:
            message = (
                f"AchieveIt is rate-limiting; wait {_wait_words(response)} and try again. "
                "Nothing was queued."
            )
        elif code >= 500:
            raise ApiError(
                f"AchieveIt had a server error ({code}) while receiving the upload, so it may or "
                "may not have been queued. Check in AchieveIt (or the job list) before sending "
                f"again. It said: {shown}",
                http_status=code,
                body=body,
                maybe_queued=True,
            )
        elif code in (301, 302, 303):
            message = (
                f"AchieveIt redirected the upload ({code}) from {url}, which would turn it into "
                "an empty GET. The base URL is probably wrong (for example http:// instead of "
                "https://, or an old address). Nothing was queued."
            )
        elif 400 <= code < 500:
            message = f"AchieveIt refused the upload ({code}): {shown}"
        else:
            message = f"AchieveIt answered the upload with an unexpected {code}: {shown}"
        raise ApiError(message, http_status=code, body=body)

    # ----------------------------------------------------------------------- status

    def status(self, job_id: str, *, deadline: float | None = None) -> JobStatus:
        """Ask once (with retries for transient faults) where a job stands.

        `deadline` is a `clock()` value: retries stop there, no sleep runs past it and each
        request waits at most the time left (but at least MIN_REQUEST_SECONDS). Without one,
        only the retry count and the client's timeouts bound the call.
        """
        try:
            return self._status(job_id, deadline)
        except _OutOfTime as out:
            raise out.error from out.error.__cause__

    def _status(self, job_id: str, deadline: float | None) -> JobStatus:
        """status(), but a transient fault still unresolved at the deadline raises _OutOfTime."""
        job_id = (job_id or "").strip()
        if not JOB_ID.fullmatch(job_id) or set(job_id) == {"."}:
            raise ConfigError(
                f"'{trim(job_id, 80)}' is not a Job ID: AchieveIt's Job IDs hold only letters, "
                "digits, '-', '_' and '.'. Copy it again from the Job ID column or the Log sheet."
            )
        url = self.base_url + STATUS_PATH + quote(job_id, safe="")
        return self._get(
            url, deadline, lambda response: self._job_status(job_id, response, url), _STATUS_WORDS
        )

    def _get(
        self,
        url: str,
        deadline: float | None,
        answer: Callable[[requests.Response], _T],
        words: str,
    ) -> _T:
        """GET `url`, retried on dropped connections, timeouts, 429 and 502-504 (honouring
        Retry-After); `answer` turns the response into the result or raises its ApiError.
        `words` ends the message of a network failure ("while ...")."""
        attempt = 0
        while True:
            last = attempt >= self._status_retries
            timeout = self._timeout if deadline is None else self._capped_timeout(deadline)
            try:
                response = self._send("GET", url, timeout=timeout)
            except requests.RequestException as exc:
                error, retryable = self._network_error(exc, "GET", url, words)
                error.__cause__ = exc
                if last or not retryable:
                    raise error from exc
                self._pause(backoff(attempt), deadline, error, server_asked=False)
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return answer(response)
                asked = retry_after(response.headers.get("Retry-After"))
                try:  # builds the error this fault would raise, in case time runs out
                    answer(response)
                except ApiError as error:
                    self._pause(asked or backoff(attempt), deadline, error, asked is not None)
            attempt += 1

    # ----------------------------------------------------------------------- plan items

    def get_plan_items(
        self,
        plan_id: str,
        *,
        take: int = DEFAULT_TAKE,
        sort_key: str | None = None,
        sort_direction: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> list[PlanItem]:
        """Every item of the plan, page by page (`skip`/`take`), in the server's order.

        Stops on a short page (or when a total the server gave is reached). A page that brings
        no item not seen before means the server ignores `skip`: ApiError, rather than a list
        that silently misses items. 403 (the key's API account may not read the plan) and
        404 (no such plan) say what to do. Retries as status checks do: GET is safe to repeat.
        """
        plan_id = check_plan_id(plan_id)
        take = max(1, int(take))
        url = self.base_url + ITEMS_PATH.format(plan=quote(plan_id, safe=""))
        where = f"the items of plan {plan_id}"
        items: list[PlanItem] = []
        seen: set[str] = set()
        skip = 0
        while True:
            params: dict[str, str | int] = {"skip": skip, "take": take}
            if sort_key:
                params["sortKey"] = sort_key
            if sort_direction:
                params["sortDirection"] = sort_direction
            page_url = f"{url}?{urlencode(params)}"
            page = self._get(
                page_url,
                None,
                functools.partial(self._items_page, plan_id, where=where),
                f"while reading {where}",
            )
            fresh = [r for r in page.records if record_key(r) not in seen]
            if page.records and not fresh:
                raise ApiError(
                    f"AchieveIt sent the same {len(page.records)} items again when asked for "
                    f"{where} from item {skip + 1} on: the server seems to ignore paging "
                    f"('skip'), so the list would be incomplete. Nothing was written. "
                    f"{len(items)} items were read before that; try again later, or ask "
                    "AchieveIt support about paging of Get Plan Items."
                )
            seen.update(record_key(r) for r in fresh)
            items.extend(item_from_record(r, plan_id) for r in fresh)
            skip += len(page.records)
            done = page.total is not None and len(items) >= page.total
            if len(page.records) < take or done:
                return items
            if len(items) >= max_items:
                raise ApiError(
                    f"Plan {plan_id} has more than {max_items:,} items, more than this tool "
                    "reads in one go. Nothing was written."
                )

    def _items_page(self, plan_id: str, response: requests.Response, *, where: str) -> Page:
        code = response.status_code
        text = self._text(response)
        shown = self._shown(text)
        body = trim(text, RAW_BODY_LIMIT)
        if code == 200:
            try:
                data = json.loads(text) if text.strip() else []
            except ValueError:
                raise ApiError(
                    f"AchieveIt answered {where} with something that is not JSON: {shown}. "
                    "Check the API subdomain or base URL.",
                    http_status=code,
                    body=body,
                ) from None
            return read_page(data, where)
        if code == 401:
            raise self._auth_error(code, shown, body)
        if code == 403:
            raise AuthError(
                f"AchieveIt refused {where} (403): the API key works, but its API account may "
                "not read this plan. Ask an AchieveIt admin to give the API account access to "
                f"the plan, or check the Plan ID. It said: {shown}",
                http_status=code,
                body=body,
            )
        if code == 404:
            message = (
                f"AchieveIt doesn't know plan {plan_id} (404): copy the Plan ID again with "
                "'Copy Plan ID' on the plan card, and check the API subdomain "
                f"('{DEFAULT_SUBDOMAIN}', or '{GOV_SUBDOMAIN}' for government)."
            )
        elif code == 429:
            message = (
                f"AchieveIt is rate-limiting requests; wait {_wait_words(response)} and get "
                "the plan items again."
            )
        elif code in (502, 503, 504):
            message = (
                f"AchieveIt is not answering properly right now ({code}): get the plan items "
                "again in a few minutes."
            )
        else:
            message = f"AchieveIt answered {where} with an unexpected {code}: {shown}"
        raise ApiError(message, http_status=code, body=body)

    def _capped_timeout(self, deadline: float) -> tuple[float, float]:
        """The client's (connect, read) timeouts, cut to the time left before `deadline`."""
        left = max(deadline - self._clock(), MIN_REQUEST_SECONDS)
        connect, read = self._timeout
        return min(connect, left), min(read, left)

    def _pause(
        self, delay: float, deadline: float | None, error: ApiError, server_asked: bool
    ) -> None:
        """Sleep before the next try, never past `deadline`; _OutOfTime when no time is left.

        When the server itself asked for a pause (Retry-After) longer than the time left, asking
        again sooner would only be refused: give up at once.
        """
        if deadline is not None:
            left = deadline - self._clock()
            if left <= 0 or (server_asked and delay > left):
                raise _OutOfTime(error)
            delay = min(delay, left)
        self._sleep(delay)

    def _job_status(self, job_id: str, response: requests.Response, url: str) -> JobStatus:
        code = response.status_code
        text = self._text(response)
        shown = self._summary(text)
        if code in (200, 202, 400, 500):
            # Redacted again: unescaping HTML or JSON could spell the key out afresh.
            is_html = looks_like_html(response.headers.get("Content-Type", ""), text)
            whole = self._redact(full_text(text, is_html=is_html))
            if code == 202:
                return JobStatus(job_id, JobState.PROCESSING, code, shown or "Processing…", whole)
            if code == 200:
                return JobStatus(job_id, JobState.SUCCEEDED, code, shown or "Processed.", whole)
            # The seed: 400 and 500 both mean "failed to be processed".
            default = f"AchieveIt could not process the updates ({code}) and gave no reason."
            return JobStatus(job_id, JobState.FAILED, code, shown or default, whole)
        body = trim(text, RAW_BODY_LIMIT)
        if code in (401, 403):
            raise self._auth_error(code, shown or "(no text)", body)
        if code == 404:
            message = (
                f"AchieveIt doesn't know job {job_id}: check the Job ID, and that the API "
                "subdomain is the one the job was sent to."
            )
        elif code == 429:
            message = (
                f"AchieveIt is rate-limiting status checks; wait {_wait_words(response)} "
                f"and check job {job_id} again. The job itself is not affected."
            )
        elif code in (502, 503, 504):
            message = (
                f"AchieveIt is not answering properly right now ({code}). The job itself is not "
                f"affected: check job {job_id} again in a few minutes."
            )
        else:
            message = (
                f"AchieveIt answered the status check for job {job_id} with an unexpected "
                f"{code}: {shown or '(no text)'}"
            )
        raise ApiError(message, http_status=code, body=body)

    # ----------------------------------------------------------------------- wait

    def wait(
        self,
        job_id: str,
        *,
        timeout: float,
        on_progress: Callable[[JobStatus, float], None] | None = None,
        first_interval: float = 1.0,
        max_interval: float = 15.0,
    ) -> JobStatus:
        """Poll until the job succeeds or fails, and return that status.

        The interval between polls grows by half each time up to `max_interval`, and no sleep
        runs past the deadline: the last poll happens at `timeout` seconds. `timeout` bounds the
        whole call, status retries included (see status's `deadline`). Raises JobTimeout
        (carrying the job ID) when the job is still processing then, or when transient faults
        (429, 502-504, timeouts, dropped connections) still hide its status at the deadline.
        """
        start = self._clock()
        deadline = start + timeout
        interval = max(first_interval, 0.0)
        while True:
            try:
                current = self._status(job_id, deadline)
            except _OutOfTime as out:
                job_id = job_id.strip()
                raise JobTimeout(
                    f"Stopped waiting for job {job_id}: its status could not be checked within "
                    f"the {timeout:g} seconds allowed. {out.error} As far as we know AchieveIt "
                    "is still processing it. Nothing is lost: check it later with Refresh Status "
                    f"(or `achieveit-updates status {job_id}`). Do not send it again.",
                    job_id=job_id,
                ) from out.error
            if on_progress is not None:
                on_progress(current, self._clock() - start)
            if current.state is not JobState.PROCESSING:
                return current
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise JobTimeout(
                    f"Job {current.job_id} was still being processed by AchieveIt after "
                    f"{timeout:g} seconds. Nothing is lost: check it later with Refresh Status "
                    f"(or `achieveit-updates status {current.job_id}`). Do not send it again.",
                    job_id=current.job_id,
                )
            self._sleep(min(interval, remaining))
            interval = min(interval * 1.5, max_interval)

    # ----------------------------------------------------------------------- the funnel

    def _send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> requests.Response:
        """One request, following 307/308 (and for GET also 301/302/303) within our origin."""
        all_headers = {"User-Agent": self._user_agent, "Accept": "application/json, text/plain"}
        all_headers.update(headers or {})
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._session.request(
                method,
                url,
                data=body,
                headers=all_headers,
                auth=self._auth,
                timeout=timeout or self._timeout,
                allow_redirects=False,
            )
            code = response.status_code
            followable = code in (307, 308) or (method == "GET" and code in (301, 302, 303))
            location = response.headers.get("Location")
            if not followable or not location:
                return response
            target = urljoin(url, location)
            if origin(target) != self._origin:
                response.close()
                raise ApiError(
                    f"AchieveIt redirected the request from {url} to another host "
                    f"({shown_host(target)}). The API key was not sent there and nothing was "
                    "submitted. Check the API subdomain or base URL."
                )
            response.close()
            url = target
        raise ApiError(
            f"AchieveIt redirected the request more than {MAX_REDIRECTS} times, starting at "
            f"{self.base_url}. Check the API subdomain or base URL. Nothing was submitted."
        )

    def _network_error(
        self,
        exc: requests.RequestException,
        method: str,
        url: str,
        words: str = "",
    ) -> tuple[ApiError, bool]:
        """Map a requests exception to (error to raise, whether a GET may be retried)."""
        host = shown_host(url)
        kind = _failure_kind(exc)
        not_sent = " The updates were not submitted." if method == "POST" else ""
        if kind == "dns":
            message = (
                f"Can't find {host}: check the API subdomain ('{DEFAULT_SUBDOMAIN}', or "
                f"'{GOV_SUBDOMAIN}' for government) and your internet connection."
            )
            return NetworkError(message + not_sent), False
        if kind == "connect":
            message = (
                f"Can't reach {host}: the connection was refused or timed out. Check your "
                "internet connection (and the base URL, if you set one), then try again."
            )
            return NetworkError(message + not_sent), True
        if kind == "tls":
            verify = any(isinstance(e, ssl.SSLCertVerificationError) for e in _cause_chain(exc))
            what = "certificate verification failed" if verify else "TLS could not be set up"
            message = (
                f"The secure connection to {host} failed: {what}. Corporate networks and "
                "proxies often intercept TLS with their own certificate; this tool checks "
                "certificates against your computer's (the OS) certificate store, so ask IT to "
                "install the company root certificate there."
            )
            return NetworkError(message + not_sent), False
        if kind == "proxy":
            message = (
                f"The proxy server failed while connecting to {host}. Check the proxy setting "
                "(the HTTPS_PROXY environment variable) or ask IT."
            )
            return NetworkError(message + not_sent), False
        if method == "POST":
            what = "timed out" if kind == "read-timeout" else "was cut off"
            return ApiError(
                f"The connection to {host} {what} after the upload was sent, so the upload may "
                "have reached AchieveIt. Do not send again until you have checked in AchieveIt "
                "(or the job list) whether it was queued.",
                maybe_queued=True,
            ), False
        what = "did not answer in time" if kind == "read-timeout" else "dropped the connection"
        if words and words != _STATUS_WORDS:
            return NetworkError(f"{host} {what} {words}: try again in a few minutes."), True
        return NetworkError(
            f"{host} {what} {_STATUS_WORDS}. The job itself is not affected: "
            "check again in a few minutes."
        ), True

    def _auth_error(self, code: int, shown: str, body: str) -> AuthError:
        if code == 403:
            message = (
                "AchieveIt refused access (403): the API key works, but its API account lacks "
                "permission for these plans. Ask an AchieveIt admin to give the API account "
                f"access, or set another key. It said: {shown}"
            )
        else:
            message = (
                "AchieveIt rejected the API key (401). Set a new key with Set API Key / "
                "`achieveit-updates login`. Keys belong to an API account and can be switched "
                "off by AchieveIt."
            )
        return AuthError(message, http_status=code, body=body)

    def _text(self, response: requests.Response) -> str:
        """The answer's body as text, the key redacted (see responses.redact)."""
        content_type = response.headers.get("Content-Type", "")
        return self._redact(decode_body(response.content, content_type))

    def _redact(self, text: str) -> str:
        return redact(text, self._key)

    def _summary(self, text: str) -> str:
        return summary(text, self._key)

    def _shown(self, text: str) -> str:
        return self._summary(text) or "(no text)"


# --------------------------------------------------------------------------- helpers


def _failure_kind(exc: BaseException) -> str:
    """dns | connect | tls | proxy | read-timeout | dropped: what went wrong, from the cause chain.

    Only dns, connect, tls and proxy prove that the request never reached the server.
    """
    import urllib3.exceptions as u3

    if isinstance(exc, requests.exceptions.ProxyError):
        return "proxy"
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "read-timeout"
    chain = _cause_chain(exc)
    if any(isinstance(e, u3.NameResolutionError | socket.gaierror) for e in chain):
        return "dns"
    if any(isinstance(e, u3.NewConnectionError | ConnectionRefusedError) for e in chain):
        return "connect"
    if any(isinstance(e, u3.ReadTimeoutError | TimeoutError) for e in chain):
        return "read-timeout"
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return "tls"
    return "dropped"


def _cause_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(seen) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend(item.args)
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return seen


def _wait_words(response: requests.Response) -> str:
    return wait_words(response.headers.get("Retry-After"))
