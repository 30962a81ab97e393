"""Where the LLM is and how to call it; holds the NAME of the key's variable, never the key."""

from __future__ import annotations

import os
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import LLMError


class LLMSettings(BaseModel):
    """An OpenAI-compatible endpoint and how hard to try it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(description="OpenAI-compatible base URL, e.g. http://localhost:11434/v1")
    model: str = Field(min_length=1, description="model name, e.g. gpt-4o-mini or llama3.1")
    api_key_env: str | None = Field(default="OPENAI_API_KEY",
                                    description="environment variable holding the key; "
                                                "unset or empty means no key (a local server)")
    timeout: float = Field(default=30.0, gt=0, description="seconds per request")
    max_concurrency: int = Field(default=4, ge=1, le=64, description="requests in flight")
    max_retries: int = Field(default=2, ge=0, le=10,
                             description="extra attempts on 429, 5xx, timeouts, lost connections "
                                         "(the openai client's own, honouring Retry-After)")
    give_up_after: int = Field(default=5, ge=1, le=1000,
                               description="failed requests in a row after which a run stops "
                                           "asking and finishes without the LLM")
    temperature: float = Field(default=0.0, ge=0, le=2)
    json_mode: bool = Field(default=True, description="send response_format json_object (left "
                                                      "out after an endpoint refuses it)")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL such as http://localhost:11434/v1")
        return value

    @field_validator("model")
    @classmethod
    def _model_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("is empty")
        return value

    def api_key(self) -> str | None:
        """The key from the named environment variable, or None for a key-less server."""
        if not self.api_key_env:
            return None
        return os.environ.get(self.api_key_env) or None


# Options the app (which has no command line) and the CLI read from the environment.
_FROM_ENVIRONMENT = {"max_concurrency": "TACTICS_LLM_CONCURRENCY",
                     "timeout": "TACTICS_LLM_TIMEOUT"}


def llm_settings(base_url: str | None = None, model: str | None = None,
                 api_key_env: str | None = None, **options: Any) -> LLMSettings:
    """Settings from arguments, falling back to TACTICS_LLM_BASE_URL / TACTICS_LLM_MODEL /
    TACTICS_LLM_KEY_ENV (the key's variable: OPENAI_API_KEY when unset, no key when empty) /
    TACTICS_LLM_CONCURRENCY (requests in flight: 1 for a tier of a few requests a minute) /
    TACTICS_LLM_TIMEOUT (seconds a reply may take: more for a big model on a CPU)."""
    if api_key_env is None:
        api_key_env = os.environ.get("TACTICS_LLM_KEY_ENV", "OPENAI_API_KEY").strip()
    named: dict[str, str] = {}  # options from the environment: their errors name the variable
    for option, variable in _FROM_ENVIRONMENT.items():
        if options.get(option) is None:
            options.pop(option, None)
            if value := os.environ.get(variable, "").strip():
                options[option] = value  # pydantic says what is wrong with it
                named[option] = variable
    values = {
        "base_url": base_url or os.environ.get("TACTICS_LLM_BASE_URL"),
        "model": model or os.environ.get("TACTICS_LLM_MODEL"),
        "api_key_env": api_key_env,
        **options,
    }
    hints = {"base_url": "--llm-base-url or TACTICS_LLM_BASE_URL",
             "model": "--llm-model or TACTICS_LLM_MODEL"}
    missing = [name for name in ("base_url", "model") if not values[name]]
    if missing:
        raise LLMError("LLM settings: " + "; ".join(f"{name} is missing; set {hints[name]}"
                                                      for name in missing))
    try:
        return LLMSettings(**values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = ".".join(map(str, item["loc"]))
            problems.append(f"{named.get(field, field)}: "
                            f"{item['msg'].removeprefix('Value error, ')}")
        raise LLMError("LLM settings: " + "; ".join(problems)) from None
