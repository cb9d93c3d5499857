"""The matching rules (p2e/suggest/rules.py), one test per rule and per decoy kind, as a pure function.

The same rules are run against the sandbox in test_step.py; here each is pinned on its own.
"""
from __future__ import annotations

from p2e.suggest.identifiers import Identifiers
from p2e.suggest.rules import Portfolio, Record, suggest

ISBN, OTHER_ISBN, OCLC = "9781421400839", "9780801894893", "190789234"


def p2e(**kw) -> Record:
    values = dict(mms_id="99111", ids=Identifiers(isbns={ISBN}, oclc={OCLC}, title="quiet rivers"),
                  portfolios=[Portfolio("5311", available=True, local=True, standalone=True)])
    values.update(kw)
    return Record(**values)


def twin(mms="99222", pid="5322", available=True, cz=True, ids=None, collection="61", **kw) -> Record:
    return Record(mms, ids or Identifiers(isbns={ISBN}, oclc={OCLC}, title="quiet rivers"), cz_linked=cz,
                  portfolios=[Portfolio(pid, available=available, collection_id=collection,
                                        collection_name="Academic Complete", local=False, standalone=False)], **kw)


def test_delete_on_isbn_with_an_available_cz_portfolio_and_no_order():
    s = suggest(p2e(), [twin()])
    assert (s.action, s.match, s.target_mms_id, s.target_portfolio_id, s.po_line) == ("delete", "strong", "99222", "5322", None)
    assert s.mms_id == "99111" and s.portfolio_id == "5311" and s.bib_handling == "delete"
    assert "ISBN 9781421400839 and OCLC number 190789234 on both" in s.why and "no open order" in s.why and "Academic Complete" in s.why


def test_delete_on_oclc_number_alone():
    s = suggest(p2e(ids=Identifiers(oclc={OCLC}, title="quiet rivers")), [twin(ids=Identifiers(oclc={OCLC}))])
    assert (s.action, s.match) == ("delete", "strong")
    assert "OCLC number 190789234 on both" in s.why


def test_delete_on_issn_and_on_the_same_link():
    s = suggest(p2e(ids=Identifiers(issns={"0028-0836"})), [twin(ids=Identifiers(issns={"0028-0836"}))])
    assert s.action == "delete"
    s = suggest(p2e(ids=Identifiers(links={"muse.jhu.edu/book/12"})), [twin(ids=Identifiers(links={"muse.jhu.edu/book/12"}))])
    assert s.action == "delete" and "DOI/URL" in s.why


def test_relink_when_the_p2e_record_has_an_open_order():
    s = suggest(p2e(open_po_lines=["POL-7"]), [twin()])
    assert (s.action, s.match, s.po_line, s.target_portfolio_id) == ("relink", "strong", "POL-7", "5322")
    assert "open order POL-7" in s.why


def test_two_open_orders_suggest_nothing():
    s = suggest(p2e(open_po_lines=["POL-7", "POL-8"]), [twin()])
    assert (s.action, s.match) == (None, "weak") and "2 open orders" in s.why


def test_keep_when_no_twin_is_found():
    s = suggest(p2e(), [], searched="collection 'Academic Complete'")
    assert (s.action, s.match) == ("keep", "none")
    assert "only access" in s.why and "collection 'Academic Complete'" in s.why


def test_title_only_is_weak():
    s = suggest(p2e(), [twin(ids=Identifiers(title="quiet rivers"))])
    assert (s.action, s.match, s.target_mms_id) == (None, "weak", None)
    assert "only the title matches" in s.why


def test_another_edition_is_weak():
    s = suggest(p2e(), [twin(ids=Identifiers(isbns={OTHER_ISBN}, title="quiet rivers"))])
    assert (s.action, s.match) == (None, "weak") and "another edition" in s.why


def test_a_shared_oclc_with_conflicting_isbns_is_weak():
    s = suggest(p2e(), [twin(ids=Identifiers(isbns={OTHER_ISBN}, oclc={OCLC}))])
    assert (s.action, s.match) == (None, "weak") and "other ISBNs" in s.why


def test_print_record_is_weak():
    printed = Record("99333", Identifiers(isbns={ISBN}), physical=True)
    s = suggest(p2e(), [printed])
    assert (s.action, s.match) == (None, "weak") and "print record" in s.why


def test_twin_not_available_is_weak():
    s = suggest(p2e(), [twin(available=False)])
    assert (s.action, s.match) == (None, "weak") and "Not Available" in s.why


def test_two_qualifying_twins_is_weak():
    s = suggest(p2e(), [twin(), twin(mms="99444", pid="5344")])
    assert (s.action, s.match) == (None, "weak") and "2 CZ records qualify" in s.why


def test_local_twin_is_not_a_record_to_keep():
    s = suggest(p2e(), [twin(cz=False)])
    assert s.action is None and "not linked to the Community Zone" in s.why


def test_p2e_portfolio_that_is_not_standalone_local_is_weak():
    cz_row = twin(mms="99111")  # staff gave the CZ record's IDs
    s = suggest(cz_row, [twin()])
    assert (s.action, s.match) == (None, "weak") and "not a P2E portfolio" in s.why


def test_several_portfolios_on_the_p2e_record_need_the_portfolio_id():
    two = p2e(portfolios=[Portfolio("5311", local=True, standalone=True), Portfolio("5312", local=True, standalone=True)])
    assert suggest(two, [twin()]).action is None
    assert suggest(two, [twin()], portfolio_id="5312").action == "delete"


def test_record_not_found():
    s = suggest(None, [twin()])
    assert (s.action, s.match) == (None, "none") and "not found" in s.why


def test_keep_after_collections_only_says_a_twin_elsewhere_is_not_seen():
    s = suggest(p2e(), [], searched="collection 'Academic Complete'", everywhere=False)
    assert s.action == "keep" and "a twin elsewhere would not be seen" in s.why and "only access" not in s.why
