"""What a flow file's values should look like, in the words `ivr check` uses to ask for them."""

from __future__ import annotations

# What a value should look like, by key, for "`KEY` must be ..." messages.
EXPECTED: dict[str, str] = {
    "attempts": "a whole number, like 3",
    "digits": "a whole number, like 4",
    "timeout": "a whole number of seconds, like 8",
    "max_length": "a whole number of seconds, like 120",
    "pause": "a whole number of seconds, like 2",
    "loop": "a whole number, like 2",
    "say": "text, a mapping of language to text, or a list of prompts",
    "no_input": "text, a mapping of language to text, or a list of lines",
    "no_match": "text, a mapping of language to text, or a list of lines",
    "help": "text, or a mapping of language to text",
    "remember_language": "true or false",
    "choices": 'a mapping of answers to states, like `"1, hours": hours`',
    "shortcuts": "a mapping of answers to states, like `operator: front_desk`",
    "dial": 'a number like "+15555550100", a list of numbers, or `{number: ...}` or `{queue: ...}`',
    "queue": "settings like `{name: front_desk, max_wait: 300}`",
    "name": "a queue name of letters, digits, `_`, `-` and `.`, at most 64, like front_desk",
    "announce": "a whole number of seconds, like 60 (0: never)",
    "max_wait": "a whole number of seconds, like 300",
    "number": 'a number like "+15555550100", or a list of numbers',
    "record": "true, or settings like `{max_length: 120}`",
    "branch": "a list of `{if: CONDITION, next: STATE}` items",
    "if": "a condition like `{open: office}` or `{var: zip, set: true}`",
    "in": "a list of values, like `[a, b]`",
    "closed_on": 'a list of dates, like ["2026-12-25"]',
    "session_timeout": "a length of time like 4h, 30m, 90s or 1d",
    "reject": "true, busy or rejected",
    "listen": "keys, speech or both",
    "channel": "voice or sms",
    "finish_on_key": "one key: a digit, * or #",
    "language": "a language code, like en-US",
    "text": "text, a mapping of language to text, or `{body: ..., to: ...}`",
}
BOOLEAN_WORDS = {"yes": "true", "on": "true", "no": "false", "off": "false"}
TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping of `key: value` lines",
    "array": "a list",
    "null": "empty",
}
