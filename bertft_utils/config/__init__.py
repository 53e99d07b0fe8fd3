"""What a run is told: argument dataclasses and their parser, option values (file, JSON or list), settings stored
with a model, the CLI wrapper and logging set-up. Imports nothing of bertft_utils but `errors` and `files`."""
