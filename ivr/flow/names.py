"""What every flow has without writing it: the built-in variables, and the form of a number.

Flows, the engine, the conversation tests and outbound calls all read these from here, so that
a name the engine sets can't be allowed in one place and refused in another.
"""

from __future__ import annotations

import re

# The international (E.164) form: +, a country code that doesn't start with 0, at most 15 digits.
E164 = re.compile(r"^\+[1-9]\d{1,14}$")

# Known from the first webhook on, so even the `help` reply, outside any conversation, has them.
NUMBERS = ("caller", "called", "channel")
# Written by the engine in every conversation (`answered_by` on a call placed with machine
# detection): a variable of the same name would be overwritten.
RESERVED = (*NUMBERS, "answer", "answered_by")
# What a template may use without the flow setting it (`media` is set when a picture comes,
# `language` is the conversation's language).
BUILT_INS = (*RESERVED, "media", "language")

# A language code, like en-US, es-MX or fr (the schema's `language_code` says the same).
LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
