"""Unit tests of the store, the YAML layer and the record models: round trips to the
byte, canonical order, hand edits, unknown keys, exact money, safe ids, REF resolution,
tombstones."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli import models, refs, yamlio
from crmcli.errors import AmbiguousError, CrmError, NotFoundError, RecordError
from crmcli.store import ID_RE, Store, atomic_write, new_id

# ----- yamlio ----------------------------------------------------------------------------


def test_yaml_round_trip_is_byte_identical_and_readable():
    rec = {
        "id": "ab12cd34",
        "name": "北京科技有限公司",
        "text": "line one\nline two\n  indented",
        "amount": Decimal("1234567890123.10"),
        "tags": ["b", "a"],
        "nested": {"k": [{"x": None, "y": True}]},
        "when": "2026-11-23T10:00:00+08:00",
        "empty": [],
        "map": {},
    }
    text = yamlio.dumps(rec)
    assert "北京科技有限公司" in text  # UTF-8 as is, not escaped
    assert "amount: 1234567890123.10\n" in text
    assert "text: |" in text  # multi-line text as a readable block
    back = yamlio.loads(text)
    assert back == rec
    assert yamlio.dumps(back) == text


def test_yaml_decimals_are_exact_and_timestamps_stay_text():
    data = yamlio.loads(
        "a: 0.1\nb: 0.2\nc: 1200.00\nd: 12345678901234567890.12\ne: 7\n"
        "t: 2026-11-23T10:00:00+08:00\nday: 2026-12-01\n"
    )
    assert data["a"] + data["b"] == Decimal("0.3")
    assert str(data["c"]) == "1200.00"
    assert data["d"] == Decimal("12345678901234567890.12")
    assert data["e"] == 7 and isinstance(data["e"], int)
    assert data["t"] == "2026-11-23T10:00:00+08:00"
    assert data["day"] == "2026-12-01"
    assert yamlio.dumps(data).startswith("a: 0.1\nb: 0.2\nc: 1200.00\nd: 12345678901234567890.12\n")


def test_yaml_only_true_and_false_are_booleans():
    data = yamlio.loads("on: yes\nno: off\nx: true\ny: False\nz: 'true'\n")
    assert data == {"on": "yes", "no": "off", "x": True, "y": False, "z": "true"}
    assert yamlio.loads(yamlio.dumps(data)) == data


@pytest.mark.parametrize(
    "text",
    [
        "x: !!python/object/apply:os.system ['echo hi']\n",
        "x: !!python/name:os.system\n",
        "!!python/object/new:dict {}\n",
        "x: !!binary aGk=\nx2: !!python/bytes aGk=\n",
    ],
)
def test_yaml_tags_that_construct_objects_are_refused(text):
    with pytest.raises(yamlio.YAMLError):
        yamlio.loads(text)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    "text",
    [
        "x: !!int abc\n",  # a tag's constructor failing is a YAML error, not a ValueError
        "x: !!float abc\n",
        "x: !!int 0x_\n",
        "x: !!bool maybe\n",
        "x: " + "[" * 5000 + "]" * 5000 + "\n",  # would crash whoever walks it
        "x: &a [*a]\n",  # a cycle
        BOMB,  # a billion values from a few lines
        "x: !!binary aGk=\n",  # bytes: not a value a record can hold
        "x: !!set {a: null}\n",
        "x: !!omap [a: 1]\n",
    ],
)
def test_yaml_that_would_crash_or_hang_a_reader_is_a_yaml_error(text):
    with pytest.raises(yamlio.YAMLError) as e:
        yamlio.loads(text)
    assert yamlio.describe(e.value)


def test_explicit_timestamp_tag_stays_text():
    assert yamlio.loads("x: !!timestamp 2026-01-01\ny: !!timestamp soon\n") == {
        "x": "2026-01-01",
        "y": "soon",
    }


def test_non_finite_decimals_dump_as_yaml_that_reads_back():
    for value in (Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN")):
        back = yamlio.loads(yamlio.dumps({"x": value}))["x"]
        assert str(back) == str(float(value))


def test_yaml_writes_no_anchors_or_aliases():
    shared = ["a", "b"]
    text = yamlio.dumps({"x": shared, "y": shared})
    assert "&" not in text and "*" not in text


def test_yaml_describe_names_the_line():
    with pytest.raises(yamlio.YAMLError) as e:
        yamlio.loads("a: 1\nb: [\n")
    assert yamlio.describe(e.value).startswith("line ")


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, max_value=10**15, min_value=-(10**15)
    ),
    _text,
)
_data = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_text, _data, max_size=6))
def test_yaml_round_trip_property(data):
    text = yamlio.dumps(data)
    back = yamlio.loads(text)
    assert back == data
    assert yamlio.dumps(back) == text  # saving what was read yields the same bytes


# ----- models ----------------------------------------------------------------------------


def test_normalize_gives_canonical_key_order_and_keeps_unknown_keys():
    rec = models.new_record("customer", id="ab12cd34", name="Acme")
    items = list(reversed(list(rec.items())))
    items.insert([k for k, _v in items].index("tier") + 1, ("mid", [1]))
    rec = {"zeta": 1, "alpha": {"b": 1}, **dict(items)}
    out = models.normalize("customer", rec)
    names = [n for n, _ in models.SCHEMAS["customer"]]
    # unknown keys stay where they were written: after the field they followed (the
    # fields reversed, `mid` followed `tier`), those before any field at the top
    assert list(out) == ["zeta", "alpha", *names[: names.index("tier") + 1], "mid",
                         *names[names.index("tier") + 1 :]]  # fmt: skip
    assert out["alpha"] == {"b": 1} and out["mid"] == [1]
    again = models.normalize("customer", out)
    assert again == out and list(again) == list(out)


def test_normalize_tidies_lists_and_money():
    deal = models.normalize(
        "deal",
        {"id": "x1234567", "title": "T", "stage": "new", "tags": ["b", "a", "b"], "amount": 5},
    )
    assert deal["tags"] == ["a", "b"]
    assert deal["amount"] == Decimal(5) and isinstance(deal["amount"], Decimal)
    cust = models.normalize("customer", {"emails": ["a@x.de", "a@x.de", "b@x.de"]})
    assert cust["emails"] == ["a@x.de", "b@x.de"]
    assert cust["kind"] == "company" and cust["contacts"] == [] and cust["tier"] is None


def test_validate_names_each_field():
    problems = models.validate(
        "deal",
        {"id": "x", "title": "", "stage": "new", "amount": "12", "status": "maybe",
         "lines": ["x"], "created": "soon", "updated": "2026-11-23T10:00:00+08:00"},
    )  # fmt: skip
    assert "title: must not be empty" in problems
    assert "amount: must be a number" in problems
    assert "status: 'maybe' is not one of open, won, lost" in problems
    assert "lines: must be a list of mappings" in problems
    assert "created: 'soon' is not an ISO 8601 timestamp" in problems
    assert models.validate("deal", ["not", "a", "mapping"]) == [
        "the file must hold a mapping of fields"
    ]


def test_money_must_be_finite_and_in_range():
    base = {"id": "x", "title": "T", "stage": "new", "created": "2026-01-01T00:00:00+00:00",
            "updated": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    assert models.validate("deal", {**base, "amount": Decimal("12.50")}) == []
    assert models.validate("deal", {**base, "amount": Decimal("0E-99")}) == []
    assert models.validate("deal", {**base, "amount": Decimal("NaN")}) == [
        "amount: must be a finite number"
    ]
    assert models.validate("deal", {**base, "amount": Decimal("1.0E+999999999")}) == [
        "amount: is out of range"
    ]
    assert models.validate("deal", {**base, "amount": True}) == ["amount: must be a number"]


# ----- the store: files -------------------------------------------------------------------


def test_create_writes_canonical_block_yaml(store, crm):
    rec = store.create("customer", name="王芳", emails=["wang@x.cn"], tags=["b", "a"])
    assert ID_RE.match(rec["id"]) and len(rec["id"]) == 8
    text = (crm / "customers" / f"{rec['id']}.yaml").read_text(encoding="utf-8")
    assert text.startswith(f"id: {rec['id']}\nname: 王芳\nkind: company\nemails:\n- wang@x.cn\n")
    assert "tags:\n- a\n- b\n" in text
    assert "created: '2026-11-23T10:00:00+08:00'" in text or (
        "created: 2026-11-23T10:00:00+08:00" in text
    )
    keys = [line.split(":")[0] for line in text.splitlines() if line and line[0] not in " -"]
    assert keys == [n for n, _ in models.SCHEMAS["customer"]]


def test_load_then_save_gives_identical_bytes(store, crm, monkeypatch):
    rec = store.create(
        "deal",
        title="Pump order 泵",
        stage="new",
        amount=Decimal("1200.50"),
        lines=[{"sku": "PUMP-100", "qty": 2, "price": Decimal("600.25")}],
        fields={"b": "2", "a": "1"},
    )
    path = crm / "deals" / f"{rec['id']}.yaml"
    before = path.read_bytes()
    monkeypatch.setenv("CRM_NOW", "2027-01-01T00:00:00+08:00")
    fresh = Store(crm)
    loaded = fresh.load("deal", rec["id"])
    saved = fresh.save("deal", loaded)
    assert path.read_bytes() == before
    assert saved["updated"] == "2026-11-23T10:00:00+08:00"
    assert fresh.changed == []


def test_save_of_a_change_bumps_updated_only(store, crm, monkeypatch):
    rec = store.create("customer", name="Acme")
    monkeypatch.setenv("CRM_NOW", "2027-01-01T09:30:00+08:00")
    s = Store(crm)
    saved = s.save("customer", {**s.load("customer", rec["id"]), "industry": "Pumps"})
    assert saved["updated"] == "2027-01-01T09:30:00+08:00"
    assert saved["created"] == "2026-11-23T10:00:00+08:00"
    assert Store(crm).load("customer", rec["id"]) == saved


def test_money_stays_exact_through_the_store(store, crm):
    rec = store.create("deal", title="T", stage="new", amount=Decimal("0.1") + Decimal("0.2"))
    text = (crm / "deals" / f"{rec['id']}.yaml").read_text(encoding="utf-8")
    assert "amount: 0.3\n" in text
    loaded = Store(crm).load("deal", rec["id"])
    assert loaded["amount"] == Decimal("0.3") and isinstance(loaded["amount"], Decimal)
    r = run("deal", "show", rec["id"], "--format", "json")
    if r.code == 0:
        assert '"amount": 0.3' in r.out


def test_hand_edited_file_is_read_back_by_the_next_command(store, crm):
    rec = store.create("customer", name="Acme")
    assert run("customer", "list", "--format", "json").json()[0]["name"] == "Acme"
    path = crm / "customers" / f"{rec['id']}.yaml"
    text = path.read_text(encoding="utf-8").replace("name: Acme", "name: Acme Hand Edited")
    text = text.replace("industry: null", "industry: Pumps  # by hand")
    path.write_text(text, encoding="utf-8")
    data = run("customer", "list", "--format", "json").json()
    assert data[0]["name"] == "Acme Hand Edited" and data[0]["industry"] == "Pumps"
    # a hand edit with keys in another order, short form, missing optional fields
    path.write_text(
        f"updated: 2026-11-23T10:00:00+08:00\ncreated: 2026-11-23T10:00:00+08:00\n"
        f"name: Short\nid: {rec['id']}\n",
        encoding="utf-8",
    )
    got = Store(crm).load("customer", rec["id"])
    assert got["name"] == "Short" and got["emails"] == [] and got["kind"] == "company"


def test_unknown_keys_survive_a_save_by_a_command(store, crm):
    rec = store.create("customer", name="Acme")
    path = crm / "customers" / f"{rec['id']}.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "x_newer_crm:\n  nested: [1, 2]\n", encoding="utf-8"
    )
    r = run("customer", "edit", rec["id"], "--add-tag", "vip")
    assert r.code == 0, r.err
    data = yamlio.loads(path.read_text(encoding="utf-8"))
    assert data["x_newer_crm"] == {"nested": [1, 2]}
    assert data["tags"] == ["vip"]
    assert list(data)[-1] == "x_newer_crm"


def test_broken_file_is_skipped_with_a_warning_naming_it(store, crm):
    store.create("customer", name="Good")
    (crm / "customers" / "bad00001.yaml").write_text("name: [\n", encoding="utf-8")
    (crm / "customers" / "bad00002.yaml").write_text("name: X\nemails: 7\n", encoding="utf-8")
    s = Store(crm)
    assert [r["name"] for r in s.query("customer")] == ["Good"]
    assert any("customers/bad00001.yaml: not valid YAML" in w for w in s.warnings)
    assert any("customers/bad00002.yaml" in w for w in s.warnings)
    r = run("customer", "list", "--format", "json")
    assert r.code == 0 and len(r.json()) == 1
    assert "customers/bad00001.yaml" in r.err


def test_file_name_is_the_truth_for_the_id(store, crm):
    rec = store.create("customer", name="Acme")
    path = crm / "customers" / f"{rec['id']}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(f"id: {rec['id']}", "id: zzzz0000"))
    assert Store(crm).load("customer", rec["id"])["id"] == rec["id"]


def test_atomic_write_exclusive_never_replaces(tmp_path):
    target = tmp_path / "a.yaml"
    atomic_write(target, b"one\n")
    with pytest.raises(FileExistsError):
        atomic_write(target, b"two\n", exclusive=True)
    assert target.read_bytes() == b"one\n"
    atomic_write(target, b"three\n")
    assert target.read_bytes() == b"three\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]  # no temp files left


def test_create_refuses_an_existing_id(store):
    store.create("customer", id="abcd1234", name="A")
    with pytest.raises(CrmError, match="already exists"):
        store.create("customer", id="abcd1234", name="B")
    assert store.load("customer", "abcd1234")["name"] == "A"


def test_new_ids_are_short_typable_and_distinct():
    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(ID_RE.match(i) and len(i) == 8 for i in ids)


# ----- ids never form a path ---------------------------------------------------------------

BAD_IDS = ["../../etc/passwd", "..", ".", "a/b", "a\\b", "/etc/passwd", "", "ABCD1234",
           "-abc", "abc.yaml", "x" * 65, "ab cd", "ab\x00cd", "~root", "ab\ncd"]  # fmt: skip


@pytest.mark.parametrize("rid", BAD_IDS)
def test_ids_that_could_form_a_path_are_refused(store, crm, rid):
    with pytest.raises(CrmError, match="not a valid customer id"):
        store.path("customer", rid)
    with pytest.raises(CrmError):
        store.load("customer", rid)
    with pytest.raises(CrmError):
        store.create("customer", id=rid or "..", name="Evil")
    assert not store.exists("customer", rid) if rid else True
    assert sorted(p.name for p in (crm / "customers").iterdir()) == [".gitkeep"]


@pytest.mark.parametrize("ref", ["../../etc/passwd", "../customers/x", "/etc/passwd", "..", "."])
def test_refs_never_reach_outside_the_crm(store, ref):
    store.create("customer", name="Acme")
    with pytest.raises(NotFoundError, match="no customer matches"):
        refs.resolve(store, "customer", ref)
    r = run("customer", "show", ref)
    assert r.code == 1 and r.err.startswith("Error: no customer matches")


def test_a_tombstone_pointing_at_a_path_is_refused(store, crm):
    (crm / "customers" / "evil0001.yaml").write_text("merged_into: ../../etc/passwd\n")
    with pytest.raises(CrmError, match="not a valid customer id"):
        store.load("customer", "evil0001")
    r = run("customer", "show", "evil0001")
    assert r.code == 1 and r.err.startswith("Error: ") and "Traceback" not in r.err


# ----- REF resolution ----------------------------------------------------------------------


@pytest.fixture
def people(store):
    a = store.create("customer", id="abcd1111", name="Acme GmbH", emails=["info@acme.de"])
    b = store.create("customer", id="abcd1222", name="Bolt AG")
    c = store.create("customer", id="bcde3333", name="abcd")  # a name that is another's prefix
    d = store.create("customer", id="cdef4444", name="Café Müller")
    return a, b, c, d


def test_resolve_by_id_prefix_name_email(store, people):
    a, b, c, d = people
    assert refs.resolve(store, "customer", "abcd1111")["id"] == a["id"]
    assert refs.resolve(store, "customer", "ABCD1111")["id"] == a["id"]
    assert refs.resolve(store, "customer", "abcd12")["id"] == b["id"]
    assert refs.resolve(store, "customer", "bcde")["id"] == c["id"]
    assert refs.resolve(store, "customer", "acme gmbh")["id"] == a["id"]
    assert refs.resolve(store, "customer", "  Acme GmbH ")["id"] == a["id"]
    assert refs.resolve(store, "customer", "INFO@ACME.DE")["id"] == a["id"]
    assert refs.resolve(store, "customer", "cafe muller")["id"] == d["id"]


def test_exact_match_wins_over_prefix_matches(store, people):
    a, b, c, d = people
    # 'abcd' is a prefix of two ids and the exact name of a third: the exact name wins
    assert refs.resolve(store, "customer", "abcd")["id"] == c["id"]


def test_prefix_needs_four_characters(store, people):
    with pytest.raises(NotFoundError, match="no customer matches 'cde'"):
        refs.resolve(store, "customer", "cde")
    assert refs.resolve(store, "customer", "cdef")["id"] == "cdef4444"


def test_ambiguous_ref_lists_the_candidates_with_ids(store, people):
    store.create("customer", id="eeee5555", name="Twin")
    store.create("customer", id="ffff6666", name="twin")
    with pytest.raises(AmbiguousError) as e:
        refs.resolve(store, "customer", "Twin")
    assert "'Twin' matches 2 customers; use an id" in e.value.message
    assert e.value.details == ["  eeee5555  Twin", "  ffff6666  twin"]
    with pytest.raises(AmbiguousError) as e:
        refs.resolve(store, "customer", "abcd1")
    assert "abcd1111" in "\n".join(e.value.details) and "abcd1222" in "\n".join(e.value.details)
    r = run("customer", "show", "twin")
    assert r.code == 1
    assert r.err.splitlines() == [
        "Error: 'twin' matches 2 customers; use an id",
        "  eeee5555  Twin",
        "  ffff6666  twin",
    ]


def test_no_match_is_an_error_naming_the_ref(store, people):
    r = run("customer", "show", "nobody")
    assert (r.code, r.err) == (1, "Error: no customer matches 'nobody'\n")


# ----- tombstones --------------------------------------------------------------------------


def test_tombstones_lead_to_the_record_kept(store, crm):
    keep = store.create("customer", id="keep0001", name="Acme")
    old = store.create("customer", id="old00001", name="ACME Germany")
    store.write_tombstone("customer", old["id"], keep["id"])
    text = (crm / "customers" / "old00001.yaml").read_text(encoding="utf-8")
    assert text.startswith("id: old00001\nmerged_into: keep0001\n")
    s = Store(crm)
    assert s.load("customer", "old00001")["id"] == "keep0001"
    assert refs.resolve(s, "customer", "old00001")["id"] == "keep0001"
    assert refs.resolve(s, "customer", "old0")["id"] == "keep0001"
    assert [r["id"] for r in s.query("customer")] == ["keep0001"]
    assert sorted(
        r["id"] for r in [*s.query("customer"), *s.query("customer", {"merged": True})]
    ) == ["keep0001", "old00001"]
    assert run("customer", "show", "old00001", "--format", "json").json()["id"] == "keep0001"


def test_a_prefix_shared_by_a_tombstone_and_its_target_is_not_ambiguous(store):
    store.create("customer", id="same0001", name="A")
    store.create("customer", id="same0002", name="B")
    store.write_tombstone("customer", "same0002", "same0001")
    assert refs.resolve(store, "customer", "same")["id"] == "same0001"


def test_tombstone_loop_is_an_error_not_a_hang(store):
    store.create("customer", id="loop0001", name="A")
    store.create("customer", id="loop0002", name="B")
    store.write_tombstone("customer", "loop0001", "loop0002")
    store.write_tombstone("customer", "loop0002", "loop0001")
    with pytest.raises(RecordError, match="loop"):
        store.load("customer", "loop0001")
    r = run("customer", "show", "loop0001")
    assert r.code == 1 and "loop" in r.err


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ref=st.text(max_size=20))
def test_resolve_never_escapes_or_crashes(store, ref):
    try:
        rec = refs.resolve(store, "customer", ref)
    except CrmError:
        return
    assert ID_RE.match(rec["id"])


def test_defaults_are_fresh_for_every_record():
    from crmcli import models

    a, b = models.new_record("customer", name="A"), models.new_record("customer", name="B")
    a["tags"].append("x")
    a["fields"]["k"] = "v"
    c = models.normalize("customer", {"id": "c0000001", "name": "C"})
    assert b["tags"] == c["tags"] == [] and b["fields"] == c["fields"] == {}
    given = ["vip"]
    assert models.new_record("customer", name="D", tags=given)["tags"] == ["vip"]


def test_init_ignores_derived_data_and_killed_writes_temp_files(tmp_path):
    from crmcli.store import init

    root = init(tmp_path / "new")
    assert (root / ".gitignore").read_text(encoding="utf-8") == ".crm/\n.*.tmp\n"
    older = tmp_path / "older"
    older.mkdir()
    (older / ".gitignore").write_text("notes/\n.crm/", encoding="utf-8")  # no final newline
    init(older)
    assert (older / ".gitignore").read_text(encoding="utf-8") == "notes/\n.crm/\n.*.tmp\n"


# ----- the one writer -----------------------------------------------------------------------


def _spy_writes(monkeypatch) -> list[str]:
    """The names of the files crmcli.store.write_record writes, in order."""
    from crmcli import store as store_mod

    written: list[str] = []
    real = store_mod.write_record

    def spy(path, *args, **kwargs):
        written.append(path.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(store_mod, "write_record", spy)
    return written


def test_store_doctor_and_merge_driver_write_a_record_to_the_same_bytes(
    store, crm, tmp_path, monkeypatch
):
    from crmcli.mergedriver import merge_files

    written = _spy_writes(monkeypatch)
    rec = store.create("customer", name="Acme GmbH", tags=["vip", "b2b"], contacts=[{"name": "Jo"}])
    path = crm / "customers" / f"{rec['id']}.yaml"
    saved = path.read_bytes()
    shuffled = dict(reversed(list(yamlio.loads(saved.decode("utf-8")).items())))
    path.write_text(yamlio.dumps({**shuffled, "tags": ["vip", "b2b", "vip"]}), encoding="utf-8")
    assert run("doctor", "--fix").code == 0
    fixed = path.read_bytes()
    sides = [tmp_path / side for side in ("O", "A", "B")]
    for side in sides:
        side.write_bytes(yamlio.dumps(shuffled).encode("utf-8"))
    merge_files(*sides, f"customers/{rec['id']}.yaml")
    assert fixed == saved and sides[1].read_bytes() == saved
    assert written == [path.name, path.name, "A"]  # every write went through write_record


def test_store_and_merge_driver_write_a_tombstone_to_the_same_bytes(
    store, crm, tmp_path, monkeypatch
):
    from crmcli.mergedriver import merge_files

    written = _spy_writes(monkeypatch)
    store.write_tombstone("customer", "old00001", "keep0001")
    saved = (crm / "customers" / "old00001.yaml").read_bytes()
    sides = [tmp_path / side for side in ("O", "A", "B")]
    for side in sides:
        side.write_bytes(saved)
    merge_files(*sides, "customers/old00001.yaml")
    assert sides[1].read_bytes() == saved
    assert written == ["old00001.yaml", "A"]


def test_an_invalid_record_is_written_by_no_path(store, crm):
    from crmcli.store import write_record

    path = crm / "customers" / "bad00001.yaml"
    with pytest.raises(RecordError, match=r"^customers/bad00001.yaml: name"):
        write_record(path, "customer", {"id": "bad00001"}, rel="customers/bad00001.yaml")
    assert not path.exists()
    write_record(path, "customer", {"id": "bad00001"}, check=False)  # the merge driver's form
    assert yamlio.loads(path.read_text(encoding="utf-8"))["name"] is None


def test_the_store_imports_neither_rich_nor_the_renderer(tmp_path):
    """Saving and listing through the index (JSON lines included) loads no renderer."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from crmcli.store import Store, init\n"
        f"root = init({str(tmp_path / 'c')!r}, 'C')\n"
        "s = Store(root)\n"
        "s.create('task', title='T', status='open', priority='normal')\n"
        "assert len(Store(root).query('task')) == 1\n"
        "assert len(Store(root).query('task', order='list', json=True)) == 1\n"
        "assert Store(root).query('task', fields=('id', 'title'))[0]['title'] == 'T'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'"
        " or m == 'crmcli.render'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
