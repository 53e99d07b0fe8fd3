"""The one flow every script runs (`flow.run_task`) and what each kind of task plugs into it: NER (windows,
decoding), sequence classification, question-to-answer labels. The top floor: imports any group, none imports it."""
