"""The register's free-text search (enterprises/search.py, docs/search.md).

The same results on SQLite and PostgreSQL: every test here runs on either (DATABASE_URL) and
compares the register's answer with the rule written out in Python below, which is the rule users
know (each whitespace-separated term a substring of the name, address or credit code, or of the
owner for the roles that may search by owner; ASCII letters in either case; deleted units never),
and, where the two agree by construction, with the icontains filter the register used before.
Then: the index follows every write path, and the databases really use it.
"""

import datetime
import json
import random

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.audit import history_of, restore_version
from enterprises import search
from enterprises.credit_code import make_credit_code
from enterprises.filtersets import UnitFilterSet, with_current_rectification
from enterprises.importing import insert_rows
from enterprises.models import Enterprise
from enterprises.pagination import ORDER
from enterprises.services import unit_delete, unit_undelete
from tests.factories import make_township, make_unit, make_user

pytestmark = pytest.mark.django_db

D = datetime.date
FIELDS = ("name", "address", "credit_code")
CODE = make_credit_code("9", "1", "330381", "MA2B3C4D")  # 91330381MA2B3C4D + its two check characters


def ascii_lower(text):
    """ASCII letters lowered, written out independently of enterprises.search.fold."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def expected(value, *, owner):
    """The units the search ``value`` must find, in the register's order, by the rule in Python."""
    terms = [ascii_lower(t) for t in value.split()]
    fields = FIELDS + (("owner",) if owner else ())
    rows = Enterprise.objects.values_list("pk", "identified_on", "deleted_at", *fields)
    found = [
        (day, pk)
        for pk, day, deleted_at, *texts in rows
        if deleted_at is None and all(any(t in ascii_lower(text) for text in texts) for t in terms)
    ]
    return [pk for day, pk in sorted(found, reverse=True)]


def found(value, user=None):
    """The units the register's search finds, in the register's order (-identified_on, -id)."""
    f = UnitFilterSet({"q": value}, Enterprise.objects.for_register(), user=user)
    return list(f.qs.order_by(*ORDER).values_list("pk", flat=True))


def icontains(value, *, owner):
    """The register's search as it was: icontains over the fields, ANDed over the terms."""
    queryset = Enterprise.objects.for_register()
    for term in value.split():
        match = Q(name__icontains=term) | Q(address__icontains=term) | Q(credit_code__icontains=term)
        if owner:
            match |= Q(owner__icontains=term)
        queryset = queryset.filter(match)
    return list(queryset.order_by(*ORDER).values_list("pk", flat=True))


# --- the rule, on random units and searches ------------------------------------------------------

# CJK (3-byte UTF-8) and a 4-byte character, ASCII letters of both cases and digits, characters the
# index's and the databases' own syntax give a meaning to, and letters whose case only Unicode knows.
ALPHABET = "五金厂塑料街道路号王李村" + "\U00020000" + "aBcAbC19" + "%_\\\"*():'-.^" + "ÉéＡａ"
text = st.text(alphabet=ALPHABET + " ", max_size=10)
unit_values = st.fixed_dictionaries(
    {"name": text.filter(str.strip), "address": text, "credit_code": st.text(ALPHABET, max_size=6), "owner": text}
)


@st.composite
def units_and_search(draw):
    units = draw(st.lists(unit_values, min_size=1, max_size=6))
    deleted = draw(st.lists(st.booleans(), min_size=len(units), max_size=len(units)))
    pieces = [u[f] for u in units for f in (*FIELDS, "owner") if u[f].strip()]
    # Terms cut from the units' own texts (so that they hit), or made up (so that they mostly miss).
    term = st.one_of(
        st.sampled_from(pieces).flatmap(lambda s: st.integers(0, len(s) - 1).flatmap(lambda i: st.just(s[i : i + 3])))
        if pieces
        else st.nothing(),
        st.text(ALPHABET, min_size=1, max_size=7),
    )
    terms = draw(st.lists(term, min_size=1, max_size=3))
    # The terms as typed: separated by half- and full-width spaces, some letters in the other case
    # (which the ASCII ones match in, and the others, full-width or accented, do not).
    value = draw(st.sampled_from([" ", "\u3000", "  "])).join(terms)
    value = "".join(c.swapcase() if draw(st.booleans()) else c for c in value)
    return units, deleted, value


def only_ascii_case(*texts):
    """Whether no character of ``texts`` has a case other than an ASCII letter's (then icontains,
    which PostgreSQL applies to every letter with a case, agrees with the rule)."""
    return all(c.lower() == c.upper() or c.isascii() for t in texts for c in t)


@pytest.fixture
def townships():
    return [make_township(f"乡镇{i}") for i in range(6)]


def unit(name, address="", credit_code="", owner=""):
    return {"name": name, "address": address, "credit_code": credit_code, "owner": owner}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=units_and_search())
@example(case=([unit("街Ａé五金"), unit("街ａÉ塑料", owner="Ｗang")], [False, False], "ａé"))
@example(case=([unit("ABC五金厂", "路8号"), unit("abc塑料厂"), unit("Abc")], [False, True, False], "aBc 厂"))
def test_the_search_finds_what_the_rule_says_on_both_databases(townships, case):
    units, deleted, value = case
    with transaction.atomic():
        viewer = make_user("viewer", role="city_viewer")
        for i, values in enumerate(units):
            # One township each: the identity rule (township, name, address) never refuses a unit.
            code = f"{values['credit_code']}{i}" if values["credit_code"] else ""
            unit = make_unit(townships[i], D(2018, 1, 1 + i % 3), **{**values, "credit_code": code})
            if deleted[i]:
                Enterprise.objects.filter(pk=unit.pk).update(deleted_at=datetime.datetime.now(datetime.UTC))
        assert found(value) == expected(value, owner=True)
        assert found(value, viewer) == expected(value, owner=False)
        stored = Enterprise.objects.values_list(*FIELDS, "owner")
        if only_ascii_case(value, *(t for row in stored for t in row)):
            assert found(value) == icontains(value, owner=True)
            assert found(value, viewer) == icontains(value, owner=False)
        transaction.set_rollback(True)


# --- the rule, case by case ----------------------------------------------------------------------


@pytest.fixture
def city():
    east, west = make_township("莘塍街道"), make_township("塘下镇")
    return {
        "a": make_unit(
            east,
            D(2018, 3, 1),
            name="瑞安市鑫华五金加工厂",
            address="莘塍街道东风村工业路18号",
            credit_code=CODE,
            owner="王伟",
        ),
        "b": make_unit(west, D(2018, 2, 1), name="塘下塑料加工点", address="塘下镇罗凤路9号", owner="李娜"),
        "c": make_unit(west, D(2018, 4, 1), name="ABC Auto 汽配店", address="Room 5-A, 88号", owner="Zhang Wei"),
    }


@pytest.mark.parametrize(
    "value,names",
    [
        ("厂", ["a"]),
        ("号", ["c", "a", "b"]),
        ("五金", ["a"]),
        ("王伟", ["a"]),  # owner
        ("塑料加", ["b"]),
        ("东风村工业", ["a"]),  # address
        ("五金加工厂", ["a"]),
        ("鑫华五金加工", ["a"]),
        ("91330381", ["a"]),  # a credit code's start ...
        ("ma2b3c", ["a"]),  # ... and inside it, in lower case
        (CODE, ["a"]),
        ("加工 塘下", ["b"]),  # every term, each in some field
        ("加工 东风 王伟", ["a"]),
        ("abc", ["c"]),
        ("AUTO", ["c"]),
        ("5-a", ["c"]),
        ("zhang", ["c"]),
        ("龘", []),
        ("无此", []),
        ("无此单", []),
        ("无此单位名称", []),
        ("五金 龘", []),
        ("厂工", []),  # both grams are there, the term is not
        ("街道东风村工业路18号塑料", []),
    ],
)
def test_terms_of_every_length_in_every_field(city, value, names):
    assert found(value) == [city[n].pk for n in names]
    assert found(value) == expected(value, owner=True)


def test_only_those_who_may_search_owners_find_by_owner(city):
    viewer = make_user("viewer", role="city_viewer")
    for value in ("王伟", "王", "zhang wei", "Zhang", "李娜"):
        assert found(value, viewer) == [] and found(value) != []


@pytest.mark.parametrize(
    "value",
    ['"', "*", "%", "_", "\\", "(", ")", ":", "^", "'", "AND", "OR", "NOT", "NEAR", '"五金"', "五金*", "a%b", "a_b"],
)
def test_characters_with_a_meaning_to_the_databases_are_plain_characters(townships, value):
    plain = make_unit(townships[0], name="普通单位")
    holder = make_unit(townships[1], name=f"单位{value}名")
    assert found(value) == [holder.pk]
    assert plain.pk not in found(value)


def test_only_ascii_letters_ignore_case(townships):
    """ASCII letters match in either case; other letters (full-width, accented) only as they are,
    on both databases (PostgreSQL's icontains used to fold them, SQLite's never did)."""
    latin = make_unit(townships[0], name="ABC工作室")
    wide = make_unit(townships[1], name="ＡＢＣ工作室")
    accented = make_unit(townships[2], name="Café")
    assert found("abc") == [latin.pk]
    assert found("ａｂｃ") == []
    assert found("ＡＢＣ") == [wide.pk]
    assert found("CAFÉ") == []
    assert found("cafÉ") == []
    assert found("CAFé") == [accented.pk]


def test_a_term_at_the_end_of_the_longest_texts(townships):
    unit = make_unit(townships[0], name="单" * 198 + "末尾", address="址" * 250 + "最后五字")
    assert found("末尾") == found("最后五字") == found("尾") == found("字") == [unit.pk]


# --- the index follows every write ---------------------------------------------------------------


def test_edits_deletions_and_restores_move_the_index(city):
    admin = make_user("admin")
    a = city["a"]
    a.name = "瑞安市恒丰阀门厂"
    a.save()
    assert found("阀门") == [a.pk] and found("五金") == []
    unit_delete(enterprise=a, user=admin, reason="重复登记")
    assert found("阀门") == [] and found("王伟") == []
    unit_undelete(enterprise=Enterprise.objects.get(pk=a.pk), user=admin)
    assert found("阀门") == [a.pk]
    # An older version restored from the audit trail: its name is what is found again.
    restore_version(
        history_of(Enterprise, a.pk).filter(name="瑞安市鑫华五金加工厂").earliest("history_date"), user=admin
    )
    assert found("五金") == [a.pk] and found("阀门") == []


def test_bulk_writes_and_raw_sql_move_the_index(city, townships):
    ids = insert_rows(
        Enterprise,
        ("name", "township_id", "address", "owner", "unlicensed", "identified_on"),
        [(f"批量{i}号模具厂", townships[0].pk, f"飞云街道{i}号", "赵六", True, D(2018, 5, 1)) for i in range(3)],
    )
    assert found("模具") == sorted(ids, reverse=True)
    Enterprise.objects.filter(pk__in=ids[:2]).update(name="批量眼镜店")
    assert found("模具") == [ids[2]] and found("眼镜") == sorted(ids[:2], reverse=True)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE enterprises_enterprise SET address = %s WHERE id = %s", ["锦湖街道", ids[2]])
        cursor.execute("DELETE FROM enterprises_enterprise WHERE id = %s", [ids[1]])
    assert found("锦湖") == [ids[2]] and found("飞云") == [ids[0]]
    assert found("眼镜") == [ids[0]]
    # Unchanged text (a status, a township) leaves the index as it is, and the search right.
    Enterprise.objects.filter(pk=ids[0]).update(status="rectified", township=townships[1])
    assert found("眼镜") == [ids[0]]
    assert found("工业路") == [city["a"].pk]


def indexed():
    """{unit id: (public grams, owner grams)} as the database's index holds them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT id, tsvector_to_array({search.GRAMS_FUNCTION}(name, address, credit_code, owner)) "  # nosec B608  # constants
                "FROM enterprises_enterprise"
            )
            mark = search.OWNER_MARK
            return {
                pk: ({g for g in held if not g.startswith(mark)}, {g[1:] for g in held if g.startswith(mark)})
                for pk, held in cursor.fetchall()
            }
        cursor.execute(f"SELECT rowid, public, owner FROM {search.FTS_TABLE}")  # nosec B608  # a constant
        return {
            pk: tuple({bytes.fromhex(t).decode() for t in (column or "").split()} for column in (public, owner))
            for pk, public, owner in cursor.fetchall()
        }


def starting_grams(*texts):
    """From each position of ``texts`` (ASCII letters lowered), its 2 characters (1 at the last)."""
    return {ascii_lower(t)[i : i + 2] for t in texts for i in range(len(t))}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(unit_values, min_size=1, max_size=4))
def test_the_index_holds_the_grams_of_every_unit(townships, values):
    """What the database indexes of each unit: the 2 characters from each position of its texts
    (1 at the end), ASCII letters lowered, and nothing that is not in them; on PostgreSQL some
    single characters more (which a prefix match, as a one-character term is, finds anyway)."""
    with transaction.atomic():
        units = [make_unit(townships[i], **{**v, "credit_code": ""}) for i, v in enumerate(values)]
        Enterprise.objects.filter(pk=units[0].pk).update(deleted_at=datetime.datetime.now(datetime.UTC))
        stored = {pk: rest for pk, *rest in Enterprise.objects.values_list("pk", *FIELDS, "owner")}
        held = indexed()
        # SQLite indexes alive units only; PostgreSQL's index holds every unit (the search skips deleted ones).
        assert set(held) == set(stored) - ({units[0].pk} if connection.vendor == "sqlite" else set())
        for pk, (public, owner) in held.items():
            *texts, owner_text = stored[pk]
            for found, expected_grams, source in (
                (public, starting_grams(*texts), texts),
                (owner, starting_grams(owner_text), [owner_text]),
            ):
                assert expected_grams <= found
                extra = found - expected_grams
                assert connection.vendor == "postgresql" or not extra
                assert all(len(g) == 1 and any(g in ascii_lower(t) for t in source) for g in extra)
            assert starting_grams(*texts) == set().union(*(search.grams(t) for t in texts))
        transaction.set_rollback(True)


def test_python_and_the_databases_fold_only_ascii_letters():
    assert search.fold("ÉéＡａAZaz五") == "ÉéＡａazaz五"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("""SELECT lower(%s COLLATE "C")""", ["ÉéＡａAZaz五"])
        else:
            cursor.execute("SELECT lower(%s)", ["ÉéＡａAZaz五"])
        assert cursor.fetchone()[0] == "ÉéＡａazaz五"
        if connection.vendor == "sqlite":  # its LIKE (the check of longer terms) too
            cursor.execute("SELECT 'xAbCx' LIKE '%aBc%', 'É' LIKE 'é', 'Ａ' LIKE 'ａ'")
            assert cursor.fetchone() == (1, 0, 0)


# --- the databases use the index ---------------------------------------------------------------


def plan_nodes(node):
    """Every node of a PostgreSQL JSON plan (its subplans and init plans included)."""
    return [node, *(found for child in node.get("Plans", ()) for found in plan_nodes(child))]


def register_page(value):
    f = UnitFilterSet({"q": value}, Enterprise.objects.for_register())
    return with_current_rectification(f.qs).order_by(*ORDER)[:26]


POOL = [chr(0x4E00 + 7 * i) for i in range(800)]  # 800 CJK characters, none of them from U+9F00 on


@pytest.fixture
def thousands(townships):
    """3,000 units named and placed with 800 characters, ANALYZEd: a size and a variety of text where
    an index pays, and where the planner knows which grams are common (its statistics)."""
    rng = random.Random(7)
    rows = []
    for i in range(3000):
        words = "".join(rng.choice(POOL) for _ in range(6))
        rows.append(
            (
                f"瑞安市{words}加工厂",
                townships[i % 6].pk,
                f"{townships[i % 6].name}{rng.choice(POOL)}{rng.choice(POOL)}路{i}号",
                f"91330381{i:010d}",
                rng.choice(POOL) + rng.choice(POOL),
                True,
                D(2018, 1, 1) + datetime.timedelta(days=i % 300),
            )
        )
    fields = ("name", "township_id", "address", "credit_code", "owner", "unlicensed", "identified_on")
    insert_rows(Enterprise, fields, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return rows


def rare_term(rows, length):
    """A piece of ``length`` characters of one unit's own name: found, and rare."""
    return rows[1234][0][3 : 3 + length]


@pytest.mark.parametrize("value", ["rare 2", "龘龙", "rare 6", "龘龙鼎鼐鼓鼠", "0000001234", "rare 2 and 龘"])
def test_the_database_finds_a_search_by_the_index(thousands, value):
    """No full scan of the units for a 2- or 6-character term (found or not), or a credit code's part."""
    value = value.replace("rare 2", rare_term(thousands, 2)).replace("rare 6", rare_term(thousands, 6))
    if connection.vendor == "postgresql":
        # The units are looked up by the index alone (search.narrowed) ...
        lookup = Enterprise._base_manager.filter(search.UnitSearch(search.terms(value), owner=True))
        nodes = plan_nodes(json.loads(lookup.values_list("pk").explain(format="json"))[0]["Plan"])
        units = [n for n in nodes if n.get("Relation Name") == "enterprises_enterprise"]
        assert units and not [n for n in units if n["Node Type"] == "Seq Scan"]
        assert "enterprise_search_idx" in {n.get("Index Name") for n in nodes}
        # ... and the register's page takes them by their ids: it never tests the units one by one
        # along the register's order, which for a term found nowhere reads every unit.
        with CaptureQueriesContext(connection) as queries:
            list(register_page(value))
        walked = [q["sql"] for q in queries if search.GRAMS_FUNCTION in q["sql"] and "ORDER BY" in q["sql"]]
        assert walked == []
    else:
        text = register_page(value).explain()
        assert "VIRTUAL TABLE INDEX" in text and search.FTS_TABLE in text
        assert "SCAN enterprises_enterprise" not in text
    assert found(value) == expected(value, owner=True)
    assert found(value) or "龘" in value


@pytest.mark.parametrize(
    "term, looked_up",
    [
        ("五金", ["五金"]),
        ("宏达五金厂", ["宏达", "五金", "金厂"]),
        ("修店0050", ["修店", "00", "50"]),  # one telling gram: the digits narrow it too
        ("解放路123号", ["解放", "路1", "3号"]),  # "23" is left out: three others tell enough
        ("92330381m00500", ["92", "33", "03", "81", "m0", "05", "00"]),  # a credit code keeps its digits
    ],
)
def test_the_grams_a_term_is_looked_up_by(term, looked_up):
    assert search.query_grams(term) == looked_up
