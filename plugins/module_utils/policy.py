# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Policy documents: parse and compare them as IAM does, not as text."""

from __future__ import annotations

import json

from ansible.module_utils.six import string_types
from ansible.module_utils.six.moves.urllib.parse import unquote


def parse_policy(document):
    """A policy document as a dict, from a dict or (possibly URL-encoded) JSON text."""
    if isinstance(document, dict):
        return document
    if isinstance(document, string_types):
        text = document.strip()
        if text.startswith(("%7B", "%7b")):
            text = unquote(text)
        return json.loads(text)
    raise TypeError("a policy document must be a dict or JSON text, not %s" % type(document).__name__)


def canonical_policy(value):
    """A form in which two documents IAM treats alike are equal.

    Every list in an IAM policy is a set (statements, actions, resources,
    principals, condition values), and a one-element list means the same as
    its element, so lists become sorted, de-duplicated and collapsed.
    """
    if isinstance(value, dict):
        return {k: canonical_policy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = {json.dumps(canonical_policy(v), sort_keys=True): canonical_policy(v) for v in value}
        ordered = [items[k] for k in sorted(items)]
        return ordered[0] if len(ordered) == 1 else ordered
    return value


def policies_equal(a, b):
    if a is None or b is None:
        return a is b
    return canonical_policy(parse_policy(a)) == canonical_policy(parse_policy(b))


def policy_json(document):
    """Compact, stable JSON text of a policy document for IAM requests."""
    return json.dumps(parse_policy(document), sort_keys=True, separators=(",", ":"))
