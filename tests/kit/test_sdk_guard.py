"""Guards on the private SDK and vcrpy details the kit depends on: they fail loudly on an upgrade."""

import inspect

import httpx2
import openai
from openai._base_client import BaseClient
from vcr.errors import CannotOverwriteExistingCassetteException


def test_sdk_retry_delay_hook_still_exists() -> None:
    # kata.grader.plugin zeroes this so the SDK's own retries never really sleep while grading.
    hook = BaseClient._calculate_retry_timeout
    assert list(inspect.signature(hook).parameters)[:3] == ["self", "remaining_retries", "options"]


def test_sdk_still_sends_through_httpx2() -> None:
    client = openai.OpenAI(api_key="x", http_client=httpx2.Client())
    assert isinstance(client._client, httpx2.Client)


def test_vcr_unmatched_error_still_carries_what_the_plugin_reads() -> None:
    source = inspect.getsource(CannotOverwriteExistingCassetteException.__init__)
    assert "failed_request" in source and "self.cassette" in source and "self.reason" in source
