"""The engine's exceptions: only for work that cannot continue. Bad rows are findings, not errors.

    AddinError                 exit 2: usage or configuration
      ConfigError              bad URL, bad setting, missing API key
      WorkbookError            missing, corrupt, locked or password-protected file
      InvalidData              exit 1: the data has errors; export/submit refuse
      ApiError                 exit 3: the API or the network failed
        NetworkError           DNS, refused, TLS, timeout
        AuthError              401/403: the key was rejected
      JobTimeout               exit 4: still processing when we stopped waiting (job ID kept)

Every message is written for a plan owner, says what to do, and never contains the API key.
"""

from __future__ import annotations


class AddinError(Exception):
    exit_code = 2


class ConfigError(AddinError):
    pass


class WorkbookError(AddinError):
    pass


class InvalidData(AddinError):
    exit_code = 1


class ApiError(AddinError):
    """The API or the network failed.

    `maybe_queued` is True when the request may have reached AchieveIt and been queued even
    though we got no trustworthy answer (timeout after sending, 5xx): the user must check before
    sending again. `http_status` and `body` keep what the server said, if anything.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        body: str | None = None,
        maybe_queued: bool = False,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.body = body
        self.maybe_queued = maybe_queued


class NetworkError(ApiError):
    pass


class AuthError(ApiError):
    pass


class JobTimeout(AddinError):
    exit_code = 4

    def __init__(self, message: str, *, job_id: str):
        super().__init__(message)
        self.job_id = job_id
