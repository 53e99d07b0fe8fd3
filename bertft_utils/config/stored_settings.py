"""Input settings saved in the model config (cleaning rules, prompt template), so a reloaded model is fed alike."""

from __future__ import annotations

from bertft_utils.errors import UsageError


def resolve_stored(config, key: str, given, flag: str, default=None):
    """The value given on the command line, else the one stored under `key`, else `default`; a value different
    from the stored one is an error.

    The result is written to the config (here only), so the saved model carries it.
    """
    stored = getattr(config, key, None)
    if stored and given and given != stored:
        raise UsageError(f"The model was fine-tuned with {flag} {stored!r}, but {given!r} was given. "
                         f"Drop {flag} to use the stored one: a model must be fed the way it was trained.")
    value = given or stored or default
    setattr(config, key, value)
    return value
