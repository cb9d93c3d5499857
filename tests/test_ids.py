"""p2e.ids: IDs as text, never through float."""
from __future__ import annotations

import datetime as dt
import doctest

import pytest

from p2e import ids
from p2e.ids import clean_id, institution_suffix, mms_id_from_bib_id

ROUNDED = ("Excel rounded this MMS ID (it now reads {}): format the column as Text and paste the IDs again. "
           "Excel keeps only 15 digits of a number, so the last digits of the ID were lost.")


def test_doctests():
    assert doctest.testmod(ids).failed == 0


@pytest.mark.parametrize("value, expected", [
    ("9917042712205899", "9917042712205899"),
    (" 9917042712205899 ", "9917042712205899"),
    ("\u00a09917042712205899\u00a0", "9917042712205899"),
    ("'9917042712205899", "9917042712205899"),
    ("\u20199917042712205899", "9917042712205899"),
    ("9917042712205899.0", "9917042712205899"),
    ("99 1704 2712 205899", "9917042712205899"),
    ("\ufeff9917042712205899\u200b", "9917042712205899"),
    (991234567890123, "991234567890123"),        # 15 digits typed as a number: exact
    (991234567890123.0, "991234567890123"),
    (9912345, "9912345"),                         # a short test ID
    (None, None),
    ("", None),
    ("   ", None),
])
def test_mms_ids_cleaned_silently(value, expected):
    assert clean_id(value, "mms_id") == (expected, None)


def test_voyager_bib_ids_typed_as_numbers():
    assert clean_id(5539966, "voyager_bib_id") == ("5539966", None)
    assert clean_id(5539966.0, "voyager_bib_id") == ("5539966", None)
    assert clean_id("170427", "voyager_bib_id") == ("170427", None)


@pytest.mark.parametrize("value, shown", [
    (99170427122058990, "99170427122058990"),        # 17 digits: more than Excel can hold
    (9917042712205899, "9917042712205899"),          # 16 digits stored as a number
    (9.91704271220589e15, "9917042712205890"),       # what Excel keeps: trailing zero left by rounding
    (9.91234e16, "99123400000000000"),               # shown as 9.91234E+16 in Excel
    (1e15, "1000000000000000"),
])
def test_numbers_that_cannot_hold_the_id(value, shown):
    assert clean_id(value, "mms_id") == (None, ROUNDED.format(shown))


def test_scientific_notation_as_text():
    assert clean_id("9.91234E+16", "mms_id") == (None, (
        "This MMS ID is in scientific notation (9.91234E+16), so its last digits are lost: format the column as "
        "Text and paste the IDs again."))
    assert clean_id("5.32128E+16", "portfolio_id")[1] == (
        "This Portfolio ID is in scientific notation (5.32128E+16), so its last digits are lost: format the "
        "column as Text and paste the IDs again.")


def test_dates_in_an_id_column():
    assert clean_id(dt.datetime(2021, 3, 4), "mms_id") == (None, (
        "Excel turned this MMS ID into a date or time (2021-03-04): format the column as Text and type or paste "
        "the ID again."))
    assert clean_id(dt.date(2020, 6, 30), "voyager_bib_id")[1] == (
        "Excel turned this Voyager Bib ID into a date or time (2020-06-30): format the column as Text and type or "
        "paste the ID again.")
    assert clean_id(dt.time(12, 5), "portfolio_id")[1].startswith("Excel turned this Portfolio ID into a date or time (12:05:00)")


def test_other_refusals():
    assert clean_id(99123.5, "mms_id")[1] == (
        "This MMS ID (99123.5) has a decimal part, but IDs are whole numbers: format the column as Text and type "
        "or paste the ID again.")
    assert clean_id("#N/A", "target_mms_id")[1] == (
        "This Target MMS ID cell shows the Excel error #N/A instead of an ID: put the ID itself in the cell (copy "
        "the column and use Paste Special > Values).")
    assert clean_id(True, "mms_id")[1] == "This MMS ID cell holds TRUE, not an ID: type the ID in the cell."
    assert clean_id("ocm00640854", "mms_id")[1] == (
        "This MMS ID ('ocm00640854') is not an ID: IDs are digits only, for example 9917042712205899.")
    assert clean_id(-5, "voyager_bib_id")[1] == (
        "This Voyager Bib ID (-5) is a negative number, not an ID: type the ID from Alma, for example 5539966.")


def test_ids_must_look_like_their_kind():
    assert clean_id("53212785660005899", "mms_id")[1] == (
        "This MMS ID (53212785660005899) does not look like a bib MMS ID: bib MMS IDs start with 99, for example "
        "9917042712205899. It looks like a portfolio ID: put it in the Portfolio ID column.")
    assert clean_id("9917042712205899", "portfolio_id")[1] == (
        "This Portfolio ID (9917042712205899) does not look like a portfolio ID: portfolio IDs start with 53, for "
        "example 53212785660002561. It looks like an MMS ID: put it in the MMS ID column.")
    assert clean_id("12345678", "target_mms_id")[1] == (
        "This Target MMS ID (12345678) does not look like a bib MMS ID: bib MMS IDs start with 99, for example "
        "9917042712205899.")
    assert clean_id("9917042712205899", "voyager_bib_id")[1] == (
        "This Voyager Bib ID (9917042712205899) looks like an MMS ID: put it in the MMS ID column.")


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        clean_id("1", "title")


def test_mms_id_from_bib_id():
    assert mms_id_from_bib_id("5539966", "12205899") == "99553996612205899"
    assert mms_id_from_bib_id("170427", "12205899") == "9917042712205899"
    assert mms_id_from_bib_id(" 170427.0 ", "8805867") == "991704278805867"
    with pytest.raises(ValueError):
        mms_id_from_bib_id("abc", "12205899")
    with pytest.raises(ValueError):
        mms_id_from_bib_id("170427", "12-205899")


def test_institution_suffix():
    assert institution_suffix("9917042712205899") == "5899"
    assert institution_suffix("991084484299705816") == "5816"
    assert institution_suffix("12") is None
    assert institution_suffix(None) is None


def test_a_very_long_digit_string_is_not_an_id():
    """Issue 10 point 10: an ID cell of thousands of digits would be echoed whole in every later message."""
    from p2e.ids import clean_id

    text, message = clean_id("99" + "1" * 30_000, "mms_id")
    assert text is None
    assert message.startswith("This MMS ID (99111111111111")
    assert message.endswith("has 30,002 digits, far too many for an ID: type the ID from Alma, for example "
                            "9917042712205899.")
    assert len(message) < 250
