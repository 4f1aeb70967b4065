"""The nat_zero role's own variables, templated as Ansible does, for tests
that check what the role derives (partition, ARNs, the reconciler policy)."""

from __future__ import annotations

from ansible.template import trust_as_template


def trusted(value):
    """Role files are trusted templates to Ansible; loaded by hand, they must be marked so."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value
