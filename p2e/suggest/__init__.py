"""The suggestion step, before the line: a raw P2E report in, the same workbook annotated out. Read-only.

For each P2E row it finds the Community Zone twin (the record to keep), decides by the rules in
:mod:`p2e.suggest.rules` whether to suggest delete, relink or keep, and says why. It never
writes to Alma: its client refuses every non-GET (:mod:`p2e.suggest.reader`).

Files: ``identifiers.py`` (normal forms of ISBN, ISSN, OCLC number, DOI/URL, title), ``marc.py``
(what a MARC record says about itself), ``rules.py`` (the matching rules, a pure function),
``evidence.py`` (Alma's JSON as the rules' records), ``reader.py`` (the read-only client),
``collection.py`` (the collection route), ``sru_route.py`` (the SRU route), ``step.py`` (one sheet
through the step), ``annotate.py`` (the annotated workbook), ``file.py`` (one file: is it a
suggestion request, and where its answer goes).
"""
