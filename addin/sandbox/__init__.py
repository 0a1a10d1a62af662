"""A local stand-in for AchieveIt's progress-update API, for demos and honest integration tests.

with start_sandbox(processing_delay=0.2) as sandbox:
    ...  # POST CSVs to f"{sandbox.url}/api/progressupdates/<name>" with sandbox.api_key
"""

from .processing import STATUSES, parse_as_of, process_csv
from .server import Sandbox, serve_forever, start_sandbox
from .store import DEMO_ITEMS, DEMO_PLAN_ID, RESTRICTED_PLAN_ID, DemoItem

__all__ = [
    "DEMO_ITEMS",
    "DEMO_PLAN_ID",
    "RESTRICTED_PLAN_ID",
    "STATUSES",
    "DemoItem",
    "Sandbox",
    "parse_as_of",
    "process_csv",
    "serve_forever",
    "start_sandbox",
]
