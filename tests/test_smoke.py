from conftest import run


def test_version():
    r = run("--version")
    assert r.code == 0
    assert r.out.startswith("crm ")


def test_no_crm_found_explains_how_to_create_one(tmp_path):
    r = run("customer", "list")
    assert r.code == 1
    assert r.err.startswith("Error: no CRM found")
    assert "crm init" in r.err


def test_add_and_list_customer(crm):
    r = run("customer", "add", "Acme GmbH", "--email", "Info@Acme.de")
    assert r.code == 0, r.err
    assert r.out.startswith("Added customer ")
    data = run("customer", "list", "--format", "json").json()
    assert [c["name"] for c in data] == ["Acme GmbH"]
    assert data[0]["emails"] == ["info@acme.de"]
